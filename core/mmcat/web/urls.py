"""The web UI's URLs: each page module owns its ``urlpatterns``."""

from . import accounts, datasets, home, proposals, sessions

urlpatterns = [
    *home.urlpatterns,
    *accounts.urlpatterns,
    *proposals.urlpatterns,
    *sessions.urlpatterns,
    *datasets.urlpatterns,
]
