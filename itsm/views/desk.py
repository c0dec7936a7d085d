"""Pages: desk."""

urlpatterns = []
