from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ..ingest import IngestError, ingest


class IngestView(APIView):
    """Create many datasets (parameters, files, lineage) in one atomic request.

    Send an ``Idempotency-Key`` header (any unique string, e.g. a UUID) so that a retried request
    returns the first answer (``"replayed": true``) instead of writing again. Items may refer to
    earlier items of the same request as inputs with ``"#N"``.
    """

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        examples=[OpenApiExample("Two sweeps and their merge", value={"datasets": [
            {"session": "mx1234-1", "technique": "mx", "name": "x1_1",
             "parameters": {"wavelength": 0.9763, "exposure_time": {"value": 10, "unit": "ms"}},
             "files": [{"path": "/data/mx1234-1/x1_1_master.h5", "format": "nexus"}]},
            {"session": "mx1234-1", "technique": "mx", "name": "x1_2"},
            {"session": "mx1234-1", "technique": "mx", "name": "x1_merged", "kind": "merged",
             "inputs": [{"dataset": "#0", "role": "sweep"}, {"dataset": "#1", "role": "sweep"}]},
        ]})],
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > 200:
            return Response({"idempotency_key": ["At most 200 characters."]}, status=400)
        try:
            status, body = ingest(request.user, request.data, idempotency_key=key)
        except IngestError as exc:
            return Response(exc.errors, status=exc.status)
        return Response(body, status=status)
