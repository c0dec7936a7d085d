from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from landkarte.graphql import LandkarteGraphQLView

admin.site.site_header = "Landkarte"
admin.site.site_title = "Landkarte"
admin.site.index_title = "IT landscape registry"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("graphql/", LandkarteGraphQLView.as_view(graphiql=True), name="graphql"),
    path("exports/", include("importers.urls")),
]
