"""``/api/v1/``: the core routes, then every enabled plugin's (``mmcat_api_routes`` hook)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from ..plugins.manager import hook
from . import views
from .ingest import IngestView
from .plugins import PluginsView


def build_router() -> DefaultRouter:
    router = DefaultRouter()
    router.register("proposals", views.ProposalViewSet, basename="proposal")
    router.register("sessions", views.SessionViewSet, basename="session")
    router.register("samples", views.SampleViewSet, basename="sample")
    router.register("datasets", views.DatasetViewSet, basename="dataset")
    router.register("datafiles", views.DatafileViewSet, basename="datafile")
    router.register("links", views.DatasetLinkViewSet, basename="link")
    router.register("jobs", views.JobViewSet, basename="job")
    router.register("attachments", views.AttachmentViewSet, basename="attachment")
    router.register("dictionary", views.ParameterTypeViewSet, basename="parametertype")
    hook().mmcat_api_routes(router=router)
    return router


urlpatterns = [
    path("ingest/", IngestView.as_view(), name="ingest"),
    path("plugins/", PluginsView.as_view(), name="plugins"),
    path("", include(build_router().urls)),
]
