"""Pages: changes."""

urlpatterns = []
