"""The web UI's URLs: each page module owns its ``urlpatterns``."""

from . import accounts, datasets, home, proposals, search, sessions, staff, tokens

urlpatterns = [
    *home.urlpatterns,
    *accounts.urlpatterns,
    *tokens.urlpatterns,
    *proposals.urlpatterns,
    *sessions.urlpatterns,
    *datasets.urlpatterns,
    *search.urlpatterns,
    *staff.urlpatterns,
]
