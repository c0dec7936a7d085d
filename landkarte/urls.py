from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from landkarte import views
from landkarte.graphql import LandkarteGraphQLView

admin.site.site_header = "Landkarte"
admin.site.site_title = "Landkarte"
admin.site.index_title = "IT landscape registry"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("graphql/", LandkarteGraphQLView.as_view(graphiql=True), name="graphql"),
    path("exports/", include("importers.urls")),
    path("", include("itsm.urls")),
    path("", include("architecture.urls")),
    path("", include("sourcing.urls")),
]
