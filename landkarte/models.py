"""The shared kernel: abstract bases for business models, and API tokens."""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class TimeStampedModel(models.Model):
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class BaseModel(TimeStampedModel):
    """Base of every business model: timestamps and a full history of changes (who, when, what).

    Tree models (MPTT) cannot use this base because their history must exclude the tree fields;
    they combine TimeStampedModel with their own HistoricalRecords.
    """

    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True


class SerializedTreeMixin:
    """django-mptt rewrites lft/rght of many rows on every insert or move, and two concurrent
    writers can corrupt a tree. Every tree write first locks the root rows (trees here are
    small: org units, capabilities, categories), so writers take turns."""

    def _lock_trees(self):
        roots = type(self)._default_manager.filter(parent__isnull=True).select_for_update()
        list(roots.order_by("pk").values_list("pk", flat=True))

    def save(self, *args, **kwargs):
        with transaction.atomic():
            self._lock_trees()
            return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            self._lock_trees()
            return super().delete(*args, **kwargs)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_lifetime_days() -> int:
    return int(getattr(settings, "LANDKARTE_API_TOKEN_DAYS", 90))


class TokenRefused(Exception):
    """A bearer token that does not sign anyone in; `code` says why (unknown, revoked, expired,
    inactive) and `token` is the row when there is one."""

    def __init__(self, code: str, message: str, token=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.token = token


class APIToken(TimeStampedModel):
    """A bearer token for scripts. Only the SHA-256 hash is stored; the raw token is shown once.
    Every token expires (LANDKARTE_API_TOKEN_DAYS unless given); revocation is final."""

    PREFIX = "lk_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text=_("first characters"))
    last_used = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    expires = models.DateTimeField(_("expires"))
    revoked = models.BooleanField(_("revoked"), default=False, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires <= timezone.now()

    @classmethod
    def issue(
        cls, user, name: str = "", expires=None, days: int | None = None, request=None
    ) -> tuple["APIToken", str]:
        """A new token for `user`, valid until `expires` or for `days` (default
        LANDKARTE_API_TOKEN_DAYS). Returns the row and the raw token (shown once)."""
        if expires is None:
            expires = timezone.now() + datetime.timedelta(days=days or token_lifetime_days())
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        with transaction.atomic():
            token = cls.objects.create(
                user=user, name=name, key_hash=hash_token(raw), prefix=raw[:10], expires=expires
            )
            AuditEvent.record(
                AuditEvent.Kind.TOKEN_CREATED, user=user, request=request, detail=token.prefix
            )
        return token, raw

    def revoke(self, request=None, by=None) -> bool:
        """Revoke this token for good; False when it was revoked already."""
        with transaction.atomic():
            now = timezone.now()
            changed = APIToken.objects.filter(pk=self.pk, revoked=False).update(
                revoked=True, revoked_at=now
            )
            if changed:
                self.revoked, self.revoked_at = True, now
                by_text = f" by {by.get_username()}" if by is not None else ""
                AuditEvent.record(
                    AuditEvent.Kind.TOKEN_REVOKED,
                    user=self.user,
                    request=request,
                    detail=f"{self.prefix}{by_text}",
                )
        return bool(changed)

    @classmethod
    def check_token(cls, raw: str, request=None):
        """The active user for a raw token; raises TokenRefused with a clear message otherwise.

        Last use is written (and a token_used event recorded) at most once per
        LANDKARTE_API_TOKEN_USE_INTERVAL seconds per token, not on every request; the
        conditional update makes sure only one of several parallel requests writes."""
        token = cls.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
        if token is None:
            raise TokenRefused("unknown", _("Invalid API token."))
        if token.revoked:
            raise TokenRefused("revoked", _("This API token has been revoked."), token)
        now = timezone.now()
        if token.expires <= now:
            message = _(
                "This API token expired on %(date)s. Ask for a new one (manage.py "
                "create_api_token)."
            ) % {"date": timezone.localtime(token.expires).strftime("%Y-%m-%d %H:%M")}
            raise TokenRefused("expired", message, token)
        if not token.user.is_active:
            raise TokenRefused("inactive", _("The account of this API token is disabled."), token)
        interval = int(getattr(settings, "LANDKARTE_API_TOKEN_USE_INTERVAL", 60))
        cutoff = now - datetime.timedelta(seconds=interval)
        if token.last_used is None or token.last_used < cutoff:
            stale = models.Q(last_used__isnull=True) | models.Q(last_used__lt=cutoff)
            with transaction.atomic():
                if cls.objects.filter(stale, pk=token.pk).update(last_used=now):
                    token.last_used = now
                    AuditEvent.record(
                        AuditEvent.Kind.TOKEN_USED,
                        user=token.user,
                        request=request,
                        detail=token.prefix,
                    )
        return token.user

    @classmethod
    def authenticate(cls, raw: str, request=None):
        """Return the active user for a raw token, or None."""
        try:
            return cls.check_token(raw, request=request)
        except TokenRefused:
            return None


class AuditEventQuerySet(models.QuerySet):
    """Audit events are append-only: no bulk update, no bulk delete."""

    def update(self, **kwargs):
        raise PermissionError("Audit events cannot be changed.")

    def delete(self):
        raise PermissionError("Audit events cannot be deleted.")


USER_AGENT_LENGTH = 200


class AuditEvent(models.Model):
    """One security-relevant event: sign-ins (also failed and refused ones, which the login
    throttle counts), sign-outs and the life of API tokens. Append-only."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", _("signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
        SIGN_IN_THROTTLED = "sign_in_throttled", _("sign-in refused (too many failures)")
        SIGN_OUT = "sign_out", _("signed out")
        TOKEN_USED = "token_used", _("API token used")
        TOKEN_REFUSED = "token_refused", _("API token refused")
        TOKEN_CREATED = "token_created", _("API token created")
        TOKEN_REVOKED = "token_revoked", _("API token revoked")

    created = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    kind = models.CharField(_("event"), max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=USER_AGENT_LENGTH, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created", "-pk"]
        indexes = [
            models.Index(fields=["user", "created"], name="audit_user_created"),
            # The login throttle counts recent failures per username and per address.
            models.Index(fields=["kind", "username", "created"], name="audit_kind_username"),
            models.Index(fields=["kind", "ip", "created"], name="audit_kind_ip"),
        ]

    def __str__(self):
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events cannot be deleted.")

    @classmethod
    def record(cls, kind, user=None, username: str = "", request=None, detail: str = ""):
        from landkarte.security import client_ip

        if user is not None and not getattr(user, "is_authenticated", False):
            user = None
        if user is not None and not username:
            username = user.get_username()
        ip, agent = None, ""
        if request is not None:
            ip = client_ip(request)
            agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH]
        return cls.objects.create(
            kind=kind,
            user=user,
            username=(username or "")[:150],
            ip=ip,
            user_agent=agent,
            detail=(detail or "")[:200],
        )


# Connects the receivers that record sign-ins and sign-outs in the audit log.
import landkarte.security  # noqa: E402, F401
