"""The MX screens, mounted by the core at ``/mx/`` (namespace ``mx``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("sessions/<int:pk>/collections/", views.session_collections,
         name="session-collections"),
    path("sessions/<int:pk>/summary/", views.session_summary, name="session-summary"),
    path("sessions/<int:pk>/summary.csv", views.session_summary_csv,
         name="session-summary-csv"),
    path("sessions/<int:pk>/merge/", views.session_merge, name="session-merge"),
    path("datasets/<int:pk>/", views.dataset_panel, name="dataset-panel"),
    path("datasets/<int:pk>/runs/", views.collection_runs, name="collection-runs"),
    path("datasets/<int:pk>/grid/<int:image>/", views.grid_cell_detail, name="grid-cell"),
    path("datasets/<int:pk>/mmcif/", views.dataset_mmcif, name="dataset-mmcif"),
    path("table1/", views.table1, name="table1"),
]
