"""The sourcing pages."""

from django.urls import path

from sourcing import views

app_name = "sourcing"

urlpatterns = [
    path("vendors/", views.VendorListView.as_view(), name="vendors"),
    path("vendors/<int:pk>/", views.VendorDetailView.as_view(), name="vendor-detail"),
    path("assessments/", views.AssessmentListView.as_view(), name="assessments"),
    path("assessments/new/", views.AssessmentStartView.as_view(), name="assessment-new"),
    path("assessments/<int:pk>/", views.AssessmentDetailView.as_view(), name="assessment-detail"),
    path("assessments/<int:pk>/edit/", views.AssessmentEditView.as_view(), name="assessment-edit"),
    path("procurement/", views.CaseListView.as_view(), name="cases"),
    path("procurement/<int:pk>/", views.CaseDetailView.as_view(), name="case-detail"),
    path("sovereignty/risk/", views.RiskView.as_view(), name="risk"),
    path("sovereignty/risk/figures/", views.RiskFiguresView.as_view(), name="risk-figures"),
]
