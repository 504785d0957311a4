from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from departments.models import Department
from zheliban.core.identity import ID_NUMBER_RE, mask_middle
from zheliban.core.models import TimeStampedModel

from .schema import REGISTERS, record_key, validate


class Record(TimeStampedModel):
    """One authoritative record a department holds (a person, a birth, a marriage, an enrolment).

    ``data`` holds the register's fields as ``schema.validate`` cleaned them; ``subject`` and
    ``party`` repeat the ID numbers of the people it is about, so a person's records are found by
    index. ``key`` identifies the record within its register (imports update by it)."""

    class Kind(models.TextChoices):
        POPULATION = "population", _("public security population register")
        BIRTH = "birth", _("birth medical records")
        MARRIAGE = "marriage", _("marriage records")
        SOCIAL_INSURANCE = "social_insurance", _("social insurance enrolment")
        MEDICAL_INSURANCE = "medical_insurance", _("medical insurance enrolment")

    register = models.CharField(_("register"), max_length=20, choices=Kind.choices)
    owner = models.ForeignKey(
        Department,
        verbose_name=_("held by"),
        on_delete=models.PROTECT,
        related_name="register_records",
    )
    key = models.CharField(_("key"), max_length=100, editable=False)
    subject = models.CharField(_("subject's ID number"), max_length=18, editable=False)
    party = models.CharField(
        _("other party's ID number"), max_length=18, blank=True, editable=False
    )
    household = models.CharField(_("household number"), max_length=40, blank=True, editable=False)
    data = models.JSONField(_("data"), default=dict)
    source = models.CharField(
        _("source"), max_length=200, blank=True, help_text=_("Where the record came from.")
    )

    class Meta:
        verbose_name = _("register record")
        verbose_name_plural = _("register records")
        ordering = ["register", "key"]
        constraints = [
            models.UniqueConstraint(fields=["register", "key"], name="record_register_key_uniq"),
        ]
        indexes = [
            models.Index(fields=["subject"], name="record_subject_idx"),
            models.Index(fields=["party"], name="record_party_idx", condition=~Q(party="")),
            models.Index(
                fields=["household"], name="record_household_idx", condition=~Q(household="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_register_display()} {self.key_masked}"

    @property
    def key_masked(self) -> str:
        """The key with any ID number in it masked, as staff lists show it."""
        return "|".join(
            mask_middle(part) if ID_NUMBER_RE.match(part) else part for part in self.key.split("|")
        )

    def data_masked(self) -> dict:
        """The record's fields with ID numbers masked, as pages that are not its owner's show
        them."""
        kinds = {f.name: f.type for f in self.schema.fields}
        return {
            name: mask_middle(str(value)) if kinds.get(name) == "id_number" else value
            for name, value in self.data.items()
        }

    @property
    def schema(self):
        return REGISTERS[self.register]

    def clean(self) -> None:
        reg = REGISTERS.get(self.register)
        if reg is None:
            return
        try:
            self.data = validate(reg, self.data or {})
        except ValidationError as exc:
            raise ValidationError(
                {
                    "data": [
                        f"{name}: {message}"
                        for name, errors in exc.message_dict.items()
                        for message in errors
                    ]
                }
            ) from None
        if self.owner_id is not None and self.owner.kind != reg.owner_kind:
            raise ValidationError(
                {
                    "owner": _("The %(register)s is held by a department of kind %(kind)s.")
                    % {"register": reg.label, "kind": reg.owner_kind}
                }
            )
        self.fill_keys()

    def fill_keys(self) -> None:
        reg = self.schema
        self.key = record_key(reg, self.data)[:100]
        self.subject = str(self.data.get(reg.subject, ""))
        self.party = str(self.data.get(reg.party, "")) if reg.party else ""
        self.household = str(self.data.get("household_no", ""))[:40]


class CorrectionRequest(TimeStampedModel):
    """ "This is wrong": a citizen asks the department holding a record to correct one field.

    The citizen never overwrites an authoritative record; the holder checks and answers."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        CORRECTED = "corrected", _("corrected")
        REFUSED = "refused", _("refused")

    record = models.ForeignKey(
        Record, verbose_name=_("record"), on_delete=models.CASCADE, related_name="corrections"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="register_corrections",
    )
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("citizen"),
        on_delete=models.CASCADE,
        related_name="register_corrections",
    )
    field = models.CharField(_("field"), max_length=40)
    held_value = models.CharField(_("value held"), max_length=200)
    claimed_value = models.CharField(_("value the citizen says is right"), max_length=200)
    note = models.TextField(_("note"), blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("register correction request")
        verbose_name_plural = _("register correction requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "field", "citizen"],
                condition=Q(state="open"),
                name="correction_one_open_per_field",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record} · {self.field}"
