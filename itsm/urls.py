"""The service desk, change and requirements pages."""

from itsm.views import changes, desk, requirements

app_name = "itsm"

urlpatterns = [*desk.urlpatterns, *changes.urlpatterns, *requirements.urlpatterns]
