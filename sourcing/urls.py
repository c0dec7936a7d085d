"""The sourcing pages."""

app_name = "sourcing"

urlpatterns = []
