from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
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
