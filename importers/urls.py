"""Include under `exports/`: `/exports/applications.csv?criticality=mission_critical`."""

from django.urls import path

from importers.views import export_view

app_name = "importers"

urlpatterns = [
    path("<str:name>.<str:fmt>", export_view, name="export"),
]
