"""The web UI's URLs, one group per page module."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import datasets, home, proposals, sessions

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("proposals/", proposals.proposal_list, name="proposal-list"),
    path("proposals/<int:pk>/", proposals.proposal_detail, name="proposal-detail"),
    path("samples/<int:pk>/", proposals.sample_detail, name="sample-detail"),
    path("sessions/<int:pk>/", sessions.session_detail, name="session-detail"),
    path("datasets/<int:pk>/", datasets.dataset_detail, name="dataset-detail"),
]
