"""Authentication by `Authorization: Bearer <token>` for API clients."""

from django.utils.functional import SimpleLazyObject

from landkarte.models import APIToken


class BearerTokenMiddleware:
    """Sets request.user from a bearer token. Token requests carry no session cookie, so CSRF
    does not protect them and is not needed for them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            raw = header[7:].strip()
            user = APIToken.authenticate(raw) if raw else None
            request.token_auth = True
            request.token_user = user
            if user is not None:
                request.user = SimpleLazyObject(lambda: user)
                request._dont_enforce_csrf_checks = True
        return self.get_response(request)
