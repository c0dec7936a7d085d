"""Authentication by `Authorization: Bearer <token>` for API clients."""

import json

from django.http import HttpResponse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from landkarte.models import APIToken, AuditEvent, TokenRefused


def token_refused_response(exc: TokenRefused) -> HttpResponse:
    body = {"errors": [{"message": str(exc.message), "extensions": {"code": f"token_{exc.code}"}}]}
    response = HttpResponse(json.dumps(body), status=401, content_type="application/json")
    response["WWW-Authenticate"] = 'Bearer realm="landkarte", error="invalid_token"'
    return response


class BearerTokenMiddleware:
    """Sets request.user from a bearer token. Token requests carry no session cookie, so CSRF
    does not protect them and is not needed for them.

    A token that is unknown, revoked, expired or belongs to a disabled account is answered with
    401 and a message that says which, before any view runs, and recorded as token_refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            raw = header[7:].strip()
            request.token_auth = True
            try:
                if not raw:
                    raise TokenRefused("unknown", _("Invalid API token."))
                user = APIToken.check_token(raw, request=request)
            except TokenRefused as exc:
                request.token_user = None
                token = exc.token
                AuditEvent.record(
                    AuditEvent.Kind.TOKEN_REFUSED,
                    user=token.user if token else None,
                    request=request,
                    detail=f"{exc.code} {token.prefix if token else raw[:10]}",
                )
                return token_refused_response(exc)
            request.token_user = user
            request.user = SimpleLazyObject(lambda: user)
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)
