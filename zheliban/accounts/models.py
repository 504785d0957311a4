import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zheliban.core.identity import mask_middle, mask_phone


class User(AbstractUser):
    """A citizen (自然人), an enterprise (法人) or a member of staff.

    Identity numbers are stored once, here, and leave the model only masked: use the ``*_masked``
    properties in pages, admin, API and logs.
    """

    class Kind(models.TextChoices):
        CITIZEN = "citizen", _("Citizen")
        ENTERPRISE = "enterprise", _("Enterprise")
        STAFF = "staff", _("Staff")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.CITIZEN)
    real_name = models.CharField(
        _("real name"),
        max_length=100,
        blank=True,
        help_text=_("The person's legal name, or the enterprise's registered name."),
    )
    id_number = models.CharField(
        _("resident ID number"), max_length=18, null=True, blank=True, unique=True, editable=False
    )
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        null=True,
        blank=True,
        unique=True,
        editable=False,
    )
    phone = models.CharField(_("mobile phone"), max_length=11, null=True, blank=True, unique=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [
            # Login looks user names up case-insensitively (selectors.user_for_login).
            models.Index(Upper("username"), name="user_username_upper_idx"),
            # Staff find a case's applicant by exact name (the worklist's and the counter's search).
            models.Index(fields=["real_name"], name="user_real_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="citizen") | Q(id_number__isnull=False),
                name="user_citizen_has_id_number",
            ),
            models.CheckConstraint(
                condition=~Q(kind="enterprise") | Q(credit_code__isnull=False),
                name="user_enterprise_has_credit_code",
            ),
        ]

    def __str__(self) -> str:
        return self.real_name or self.username

    @property
    def id_number_masked(self) -> str:
        return mask_middle(self.id_number)

    @property
    def credit_code_masked(self) -> str:
        return mask_middle(self.credit_code)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def identity_masked(self) -> str:
        return (
            self.credit_code_masked if self.kind == self.Kind.ENTERPRISE else self.id_number_masked
        )


def personal_token_default_expiry() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=settings.API_TOKEN_DAYS)


class PersonalToken(models.Model):
    """A person's API token. Only the SHA-256 of the key is stored; the key is shown once, when
    the token is issued (``services.personal_token_issue``)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="personal_tokens", verbose_name=_("user")
    )
    name = models.CharField(
        _("name"),
        max_length=100,
        blank=True,
        help_text=_("A label for the token, e.g. the name of the client that uses it."),
    )
    prefix = models.CharField(_("key prefix"), max_length=8, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"), default=personal_token_default_expiry)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # A person's token list, newest first.
            models.Index(fields=["user", "-created_at"], name="personaltoken_user_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.user.username} ({self.prefix}…)"

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())
