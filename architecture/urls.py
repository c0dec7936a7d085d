"""The architecture pages."""

from django.urls import path

from architecture import views

app_name = "architecture"

urlpatterns = [
    path("applications/", views.ApplicationListPage.as_view(), name="applications"),
    path(
        "applications/<int:pk>/",
        views.ApplicationDetailPage.as_view(),
        name="application-detail",
    ),
    path("components/<int:pk>/", views.ComponentDetailPage.as_view(), name="component-detail"),
    path("impact/", views.ImpactPage.as_view(), name="impact"),
    path("governance/findings/", views.FindingsPage.as_view(), name="findings"),
    path("radar/", views.RadarPage.as_view(), name="radar"),
    path("capabilities/", views.CapabilityMapPage.as_view(), name="capabilities"),
]
