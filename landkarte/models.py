"""The shared kernel: abstract bases for business models, and API tokens."""

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


class APIToken(TimeStampedModel):
    """A bearer token for scripts. Only the SHA-256 hash is stored; the raw token is shown once."""

    PREFIX = "lk_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text=_("first characters"))
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked"), default=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user, name: str = "", expires=None) -> tuple["APIToken", str]:
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, name=name, key_hash=hash_token(raw), prefix=raw[:10], expires=expires
        )
        return token, raw

    @classmethod
    def authenticate(cls, raw: str):
        """Return the active user for a raw token, or None."""
        token = (
            cls.objects.select_related("user")
            .filter(key_hash=hash_token(raw), revoked=False)
            .first()
        )
        if token is None or not token.user.is_active:
            return None
        now = timezone.now()
        if token.expires and token.expires <= now:
            return None
        cls.objects.filter(pk=token.pk).update(last_used=now)
        return token.user
