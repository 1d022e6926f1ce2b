"""Template context shared by every page: the navigation, built from core and plugin menus."""

from django.urls import reverse

from ..plugins.manager import collect_isolated
from ..plugins.types import MenuItem


def navigation(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"menu": []}
    items = [
        MenuItem("Home", reverse("home"), order=0),
        MenuItem("Proposals", reverse("proposal-list"), order=10),
        MenuItem("API", reverse("api-docs"), order=900),
    ]
    items += collect_isolated("mmcat_menu_items", request=request)
    return {"menu": sorted(items, key=lambda m: m.order)}
