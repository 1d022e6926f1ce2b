"""The core API viewsets. Each starts from the permission querysets, so an object of a proposal
the user is not in is a 404."""

from __future__ import annotations

from django.db.models import ProtectedError
from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .. import permissions as perms
from ..jobs import NotRetryable, retry
from ..lineage import graph
from ..models import ParameterType
from . import filters, serializers


class StaffWrites(permissions.BasePermission):
    """Anyone signed in may read (what the queryset lets them see); staff write."""

    message = "Only facility staff may change this."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return perms.can_manage_proposals(request.user)


class StaffDeletes(permissions.BasePermission):
    message = "Only facility staff may delete this."

    def has_permission(self, request, view):
        return request.method != "DELETE" or perms.can_manage_proposals(request.user)


class ProtectedDeleteMixin:
    def destroy(self, request, *args, **kwargs):
        try:
            return super().destroy(request, *args, **kwargs)
        except ProtectedError as exc:
            names = sorted({str(type(o)._meta.verbose_name_plural) for o in exc.protected_objects})
            return Response(
                {"detail": f"Cannot delete: it still has {', '.join(names)}."},
                status=status.HTTP_409_CONFLICT,
            )


class ProposalViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    serializer_class = serializers.ProposalSerializer
    permission_classes = [permissions.IsAuthenticated, StaffWrites]
    filterset_fields = ["code", "number", "state"]

    def get_queryset(self):
        return perms.visible_proposals(self.request.user).prefetch_related("members__person")


class SessionViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    serializer_class = serializers.SessionSerializer
    permission_classes = [permissions.IsAuthenticated, StaffWrites]
    filterset_class = filters.SessionFilter

    def get_queryset(self):
        return perms.visible_sessions(self.request.user).select_related("proposal", "beamline")


class SampleViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    serializer_class = serializers.SampleSerializer
    filterset_class = filters.SampleFilter

    def get_queryset(self):
        return perms.visible_samples(self.request.user)


class DatasetViewSet(ProtectedDeleteMixin, viewsets.ModelViewSet):
    serializer_class = serializers.DatasetSerializer
    permission_classes = [permissions.IsAuthenticated, StaffDeletes]
    filterset_class = filters.DatasetFilter

    def get_queryset(self):
        return perms.visible_datasets(self.request.user).prefetch_related(
            "parameters__type", "files"
        )

    @extend_schema(responses={200: dict})
    @action(detail=True)
    def lineage(self, request, pk=None):
        """The lineage graph around this dataset: every ancestor and descendant you may see."""
        dataset = self.get_object()
        return Response(graph(dataset, perms.visible_datasets(request.user)))


class DatafileViewSet(viewsets.ModelViewSet):
    serializer_class = serializers.DatafileSerializer
    filterset_fields = ["dataset", "format"]

    def get_queryset(self):
        return perms.visible_datafiles(self.request.user)


class DatasetLinkViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin,
                         viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.DatasetLinkSerializer
    filterset_fields = ["output", "input", "role", "job"]

    def get_queryset(self):
        return perms.visible_links(self.request.user)


class ParameterTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """The data dictionary: every parameter type with unit, range and mmCIF item."""

    serializer_class = serializers.ParameterTypeSerializer
    queryset = ParameterType.objects.all()
    lookup_field = "key"
    filterset_fields = ["technique", "value_kind", "searchable"]


class JobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ProcessingJobSerializer
    filterset_class = filters.JobFilter

    def get_queryset(self):
        return perms.visible_jobs(self.request.user).prefetch_related("inputs")

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Queue a failed job again."""
        try:
            job = retry(self.get_object().pk)
        except NotRetryable as exc:
            raise ValidationError({"state": str(exc)}) from None
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response.status_code = status.HTTP_202_ACCEPTED
        return response


class AttachmentViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin,
                        viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.AttachmentSerializer
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]
    filterset_fields = ["dataset", "job", "kind"]

    def get_queryset(self):
        return perms.visible_attachments(self.request.user)

    @extend_schema(responses={200: bytes})
    @action(detail=True)
    def download(self, request, pk=None):
        attachment = self.get_object()
        return FileResponse(attachment.file.open("rb"), as_attachment=True,
                            filename=attachment.name)


