"""Account security: the client address, the login throttle, the sign-in forms that apply it,
the audit trail of sign-ins (Django's auth signals) and the Content-Security-Policy header.

The throttle counts failed sign-ins in the audit log (a database table), so it holds across
all gunicorn workers and restarts.
"""

import base64
import datetime
import hashlib
import ipaddress
import math
import re

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import ngettext

# --- the client address ------------------------------------------------------------------------


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or, behind a trusted reverse proxy, the last address
    that proxy appended to LANDKARTE_CLIENT_IP_HEADER (e.g. "HTTP_X_FORWARDED_FOR"). Never the
    first entry of X-Forwarded-For: a client can write anything there."""
    header = getattr(settings, "LANDKARTE_CLIENT_IP_HEADER", "")
    value = ""
    if header:
        value = request.META.get(header, "").split(",")[-1].strip()
    if not value:
        value = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


# --- the login throttle ------------------------------------------------------------------------


def _limits() -> tuple[int, int, datetime.timedelta]:
    per_user = int(getattr(settings, "LANDKARTE_LOGIN_MAX_FAILURES", 5))
    per_ip = int(getattr(settings, "LANDKARTE_LOGIN_MAX_FAILURES_PER_IP", 20))
    window = datetime.timedelta(seconds=int(getattr(settings, "LANDKARTE_LOGIN_WINDOW", 900)))
    return per_user, per_ip, window


def _wait(failures, limit: int, window, now) -> int:
    """Seconds until the oldest of the last `limit` failures leaves the window (0: not
    throttled). `failures` are datetimes, newest first."""
    if limit <= 0 or len(failures) < limit:
        return 0
    return max(1, math.ceil((failures[limit - 1] + window - now).total_seconds()))


def login_wait_seconds(username: str, ip: str | None) -> int:
    """How long sign-ins for `username` or from `ip` are refused, in seconds (0: allowed).

    Per username, failures count from the last successful sign-in of that username on (a
    success resets them); per address they do not reset, so that one valid account does not
    open the door for guessing the passwords of others."""
    from landkarte.models import AuditEvent

    per_user, per_ip, window = _limits()
    now = timezone.now()
    since = now - window
    failed = AuditEvent.objects.filter(kind=AuditEvent.Kind.SIGN_IN_FAILED, created__gt=since)
    wait = 0
    if username:
        last_success = (
            AuditEvent.objects.filter(
                kind=AuditEvent.Kind.SIGN_IN, username=username, created__gt=since
            )
            .order_by("-created")
            .values_list("created", flat=True)
            .first()
        )
        mine = failed.filter(username=username)
        if last_success is not None:
            mine = mine.filter(created__gt=last_success)
        times = list(mine.order_by("-created").values_list("created", flat=True)[:per_user])
        wait = _wait(times, per_user, window, now)
    if ip:
        times = list(
            failed.filter(ip=ip).order_by("-created").values_list("created", flat=True)[:per_ip]
        )
        wait = max(wait, _wait(times, per_ip, window, now))
    return wait


def throttled_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed sign-ins. Try again in %(minutes)d minute.",
        "Too many failed sign-ins. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class ThrottledLoginMixin:
    """Refuses a sign-in without checking the password while the throttle holds; the refusal
    is a form error with code "throttled" and is recorded in the audit log."""

    retry_after = 0

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request) if self.request is not None else None
        wait = login_wait_seconds(username, ip)
        if wait:
            from landkarte.models import AuditEvent

            self.retry_after = wait
            AuditEvent.record(
                AuditEvent.Kind.SIGN_IN_THROTTLED, username=username, request=self.request
            )
            raise forms.ValidationError(throttled_message(wait), code="throttled")
        return super().clean()

    @property
    def is_throttled(self) -> bool:
        return bool(self.retry_after)


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


# --- the audit trail of sign-ins ---------------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="landkarte_audit_sign_in")
def _record_sign_in(sender, request, user, **kwargs):
    from landkarte.models import AuditEvent

    AuditEvent.record(AuditEvent.Kind.SIGN_IN, user=user, request=request)


@receiver(user_login_failed, dispatch_uid="landkarte_audit_sign_in_failed")
def _record_sign_in_failed(sender, credentials, request=None, **kwargs):
    from landkarte.models import AuditEvent

    AuditEvent.record(
        AuditEvent.Kind.SIGN_IN_FAILED,
        username=str(credentials.get("username", "")),
        request=request,
    )


@receiver(user_logged_out, dispatch_uid="landkarte_audit_sign_out")
def _record_sign_out(sender, request, user, **kwargs):
    from landkarte.models import AuditEvent

    if user is not None:
        AuditEvent.record(AuditEvent.Kind.SIGN_OUT, user=user, request=request)


# --- Content-Security-Policy -------------------------------------------------------------------

DEFAULT_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
}

# graphene-django's GraphiQL page loads React and GraphiQL from jsDelivr (pinned versions with
# Subresource Integrity) and carries one inline settings script (allowed by its hash) and an
# inline <style>; GraphiQL itself sets style attributes.
GRAPHIQL_CDN = "https://cdn.jsdelivr.net"
GRAPHIQL_CSP = {
    **DEFAULT_CSP,
    "script-src": f"'self' {GRAPHIQL_CDN}",
    "style-src": f"'self' 'unsafe-inline' {GRAPHIQL_CDN}",
    "font-src": f"'self' data: {GRAPHIQL_CDN}",
    "connect-src": "'self'",
}

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)


def policy_text(policy: dict) -> str:
    return "; ".join(f"{name} {value}".strip() for name, value in policy.items())


def script_hashes(html: str) -> str:
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in INLINE_SCRIPT.findall(html)
    )


class ContentSecurityPolicyMiddleware:
    """Adds Content-Security-Policy (LANDKARTE_CSP, a dict of directives) to every response that
    has none. The GraphiQL page (GET /graphql/ answered with HTML) gets LANDKARTE_GRAPHIQL_CSP
    plus the hashes of its inline scripts; nothing else is relaxed. LANDKARTE_CSP = None turns
    the header off. With DEBUG, error answers go without it (Django's debug pages)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "LANDKARTE_CSP", DEFAULT_CSP)
        if not policy or "Content-Security-Policy" in response:
            return response
        if settings.DEBUG and response.status_code >= 400:
            return response  # Django's technical error pages rely on inline styles and scripts
        if self.is_graphiql(request, response):
            policy = dict(getattr(settings, "LANDKARTE_GRAPHIQL_CSP", GRAPHIQL_CSP))
            hashes = script_hashes(response.content.decode(response.charset or "utf-8"))
            policy["script-src"] = f"{policy.get('script-src', '')} {hashes}".strip()
        response["Content-Security-Policy"] = policy_text(policy)
        return response

    @staticmethod
    def is_graphiql(request, response) -> bool:
        from django.urls import reverse

        return (
            request.method == "GET"
            and request.path == reverse("graphql")
            and response.get("Content-Type", "").startswith("text/html")
            and not getattr(response, "streaming", False)
        )
