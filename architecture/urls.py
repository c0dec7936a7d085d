"""The architecture pages."""

app_name = "architecture"

urlpatterns = []
