"""The plugin's REST API, registered by the ``mmcat_api_routes`` hook under /api/v1/xyz/.

Every queryset starts from :mod:`mmcat.permissions`, so an object the user may not see is a 404
(never a 403) and never appears in a list.
"""

from mmcat import permissions
from rest_framework import serializers, viewsets

from .models import Scan


class ScanSerializer(serializers.ModelSerializer):
    dataset_name = serializers.CharField(source="dataset.name", read_only=True)
    session = serializers.IntegerField(source="dataset.session_id", read_only=True)

    class Meta:
        model = Scan
        fields = ["dataset", "dataset_name", "session", "points", "peak_position", "peak_counts",
                  "total_counts", "updated_at"]


class ScanViewSet(viewsets.ReadOnlyModelViewSet):
    """XYZ scan summaries of the datasets you may see. Written by the ``xyz.ingest_scan`` job."""

    serializer_class = ScanSerializer
    queryset = Scan.objects.none()  # for the schema; requests use get_queryset
    filterset_fields = ["dataset__session"]

    def get_queryset(self):
        visible = permissions.visible_datasets(self.request.user)
        return Scan.objects.filter(dataset__in=visible).select_related("dataset")
