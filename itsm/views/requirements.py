"""Pages: requirements."""

urlpatterns = []
