"""Template context shared by every page: the navigation, built from the core's pages and the
enabled plugins' menu hooks."""

from django.urls import NoReverseMatch, reverse

from ..plugins.manager import collect_isolated
from ..plugins.types import MenuItem

#: (label, URL name, order, staff only: facility staff and beamline staff)
CORE_MENU = [
    ("Home", "home", 0, False),
    ("Proposals", "proposal-list", 10, False),
    ("Sessions", "session-list", 20, False),
    ("Search", "search", 30, False),
    ("Staff", "staff-home", 800, True),
    ("API", "api-docs", 900, False),
]


def _core_items(user):
    for label, name, order, staff_only in CORE_MENU:
        if staff_only and not (user.sees_everything or user.beamlines.exists()):
            continue
        try:
            yield MenuItem(label, reverse(name), order=order)
        except NoReverseMatch:  # a page not built yet in this version
            continue


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": []}
    items = [*_core_items(user), *collect_isolated("mmcat_menu_items", request=request)]
    return {"menu": sorted(items, key=lambda m: m.order)}
