from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

import mmcat

from ..dictionary import techniques
from ..plugins.manager import enabled_plugins


class PluginsView(APIView):
    """The core version, the enabled plugins and the techniques they declare."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response({
            "core": mmcat.__version__,
            "plugins": [{"slug": c.label, "name": c.verbose_name, "version": c.version}
                        for c in enabled_plugins()],
            "techniques": [{"slug": t.slug, "label": t.label} for t in techniques().values()],
        })
