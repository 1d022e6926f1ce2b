from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from .plugins.manager import enabled_plugins


def plugin_urls():
    patterns = []
    for config in enabled_plugins():
        module = config.url_patterns()
        if module is not None:
            patterns.append(path(f"{config.label}/", include((module, config.label))))
    return patterns


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("mmcat.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("", include("mmcat.web.urls")),
    *plugin_urls(),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
