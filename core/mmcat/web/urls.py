from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("proposals/", views.proposal_list, name="proposal-list"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal-detail"),
    path("samples/<int:pk>/", views.sample_detail, name="sample-detail"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("datasets/<int:pk>/", views.dataset_detail, name="dataset-detail"),
]
