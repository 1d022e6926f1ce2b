"""Mounted by the core at /xyz/ with the URL namespace ``xyz`` (``reverse("xyz:index")``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("sessions/<int:pk>/panel/", views.session_panel, name="session-panel"),
]
