"""Service items are the catalog's products (national implementation-list elements)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from departments.models import Department, Region
from zheliban.core.models import TimeStampedModel


class Audience(models.TextChoices):
    CITIZEN = "citizen", _("Citizens")
    ENTERPRISE = "enterprise", _("Enterprises")
    BOTH = "both", _("Citizens and enterprises")


class LocalizedNameMixin:
    """``display_name``: the English name when the page is in English and one is given."""

    @property
    def display_name(self) -> str:
        if getattr(self, "name_en", "") and get_language() == "en":
            return self.name_en
        return self.name


class Theme(LocalizedNameMixin, models.Model):
    """A subject heading (主题分类) such as 交通出行 or 社会保障."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=60, unique=True)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    audience = models.CharField(
        _("audience"), max_length=12, choices=Audience.choices, default=Audience.BOTH
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("theme")
        verbose_name_plural = _("themes")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:theme", kwargs={"slug": self.slug})


class LifeEvent(LocalizedNameMixin, models.Model):
    """A moment in a life or a business (出生, 退休, 企业开办) by which people look for services."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    audience = models.CharField(
        _("audience"), max_length=12, choices=Audience.choices, default=Audience.CITIZEN
    )
    description = models.TextField(_("description"), blank=True)
    keywords = models.CharField(
        _("search words"),
        max_length=200,
        blank=True,
        help_text=_("Words that find this event's services when its items are not yet linked."),
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=100)

    class Meta:
        verbose_name = _("life event")
        verbose_name_plural = _("life events")
        ordering = ["sort_order", "slug"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:life-event", kwargs={"slug": self.slug})


class ServiceItem(TimeStampedModel):
    """One government service as published (实施清单): the current version of its elements.

    Every publication also writes a ``ServiceItemVersion`` snapshot, which applications keep.
    """

    class ItemType(models.TextChoices):
        LICENSING = "xzxk", _("Administrative licensing")  # 行政许可
        CONFIRMATION = "xzqr", _("Administrative confirmation")  # 行政确认
        BENEFIT = "xzgf", _("Administrative benefit")  # 行政给付
        AWARD = "xzjl", _("Administrative award")  # 行政奖励
        ADJUDICATION = "xzcj", _("Administrative adjudication")  # 行政裁决
        FILING = "xzba", _("Administrative filing")  # 行政备案
        OTHER_POWER = "qtql", _("Other administrative power")  # 其他行政权力
        PUBLIC_SERVICE = "ggfw", _("Public service")  # 公共服务

    code = models.CharField(_("implementation code"), max_length=40, unique=True)
    basic_code = models.CharField(_("basic code"), max_length=40, blank=True, db_index=True)
    main_code = models.CharField(_("main item code"), max_length=40, blank=True)
    main_name = models.CharField(_("main item"), max_length=200, blank=True)
    sub_name = models.CharField(_("sub-item"), max_length=200, blank=True)
    name = models.CharField(_("name"), max_length=200)
    item_type = models.CharField(
        _("item type"), max_length=8, choices=ItemType.choices, default=ItemType.PUBLIC_SERVICE
    )
    for_citizens = models.BooleanField(_("for citizens"), default=True)
    for_enterprises = models.BooleanField(_("for enterprises"), default=False)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="items"
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="items"
    )
    summary = models.TextField(_("summary"), blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    acceptance_conditions = models.TextField(_("acceptance conditions"), blank=True)
    statutory_days = models.PositiveIntegerField(
        _("statutory limit (working days)"),
        null=True,
        blank=True,
        help_text=_("Empty when the law sets none; 0 means handled on the spot."),
    )
    eligibility = models.JSONField(
        _("who may apply online"),
        default=list,
        blank=True,
        editable=False,
        help_text=_("The active workflow's eligibility rules in words, recorded on activation."),
    )
    promised_days = models.PositiveIntegerField(
        _("promised limit (working days)"),
        null=True,
        blank=True,
        help_text=_("Empty when none is promised; 0 means handled on the spot (即办件)."),
    )
    trips = models.PositiveSmallIntegerField(_("trips to the hall"), default=1)
    online = models.BooleanField(_("can be handled online"), default=False)
    mobile = models.BooleanField(_("can be handled on a phone"), default=False)
    counter = models.BooleanField(_("at the counter"), default=True)
    courier = models.BooleanField(_("results by courier"), default=False)
    appointment = models.BooleanField(_("appointment available"), default=False)
    id_only = models.BooleanField(_("ID card alone suffices"), default=False)
    fee_fen = models.PositiveIntegerField(_("fee (fen)"), default=0)
    fee_note = models.CharField(_("fee note"), max_length=300, blank=True)
    consult_phone = models.CharField(_("consultation phone"), max_length=120, blank=True)
    complaint_phone = models.CharField(_("complaint phone"), max_length=120, blank=True)
    location = models.TextField(_("where to apply"), blank=True)
    online_url = models.URLField(_("online address"), max_length=500, blank=True)
    form_fields = models.JSONField(
        _("application form"),
        default=list,
        blank=True,
        help_text=_("Fields the application form asks for: name, label, type, required."),
    )
    themes = models.ManyToManyField(
        Theme, verbose_name=_("themes"), blank=True, related_name="items"
    )
    life_events = models.ManyToManyField(
        LifeEvent, verbose_name=_("life events"), blank=True, related_name="items"
    )
    popularity = models.PositiveIntegerField(_("popularity"), default=0)
    is_active = models.BooleanField(_("published"), default=True)
    version = models.PositiveIntegerField(
        _("version"), default=0, help_text=_("0 until first published.")
    )
    source = models.CharField(
        _("source"),
        max_length=20,
        blank=True,
        help_text=_("Where the item came from, e.g. gdzwfw import."),
    )
    # Pre-segmented text the search indexes read, space-separated tokens (kept by
    # catalog.search.index_item): the names' words, characters and character pairs; their
    # pinyin and initials; whole-name tokens and pinyin trigrams; every other word.
    search_name = models.TextField(editable=False, blank=True)
    search_pinyin = models.TextField(editable=False, blank=True)
    search_grams = models.TextField(editable=False, blank=True)
    search_words = models.TextField(editable=False, blank=True)

    class Meta:
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        ordering = ["-popularity", "code"]
        indexes = [
            models.Index(fields=["department", "is_active"], name="item_department_idx"),
            models.Index(fields=["region", "is_active"], name="item_region_idx"),
            models.Index(fields=["-popularity", "code"], name="item_popularity_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(for_citizens=True) | Q(for_enterprises=True),
                name="item_has_an_addressee",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:item", kwargs={"code": self.code})

    @property
    def is_instant(self) -> bool:
        """即办件: handled on the spot."""
        return self.promised_days == 0

    @property
    def compression(self) -> float | None:
        """How much of the statutory limit the promise removes (0.75 = 75% shorter)."""
        if not self.statutory_days or self.promised_days is None:
            return None
        return max(0.0, (self.statutory_days - self.promised_days) / self.statutory_days)


class Material(models.Model):
    """A document an application needs (申请材料), with where it comes from."""

    class Source(models.TextChoices):
        APPLICANT = "applicant", _("Provided by the applicant")
        ISSUED = "issued", _("Issued by a government department")
        SHARED = "shared", _("Fetched by data sharing; nothing to bring")

    class Form(models.TextChoices):
        ORIGINAL = "original", _("Original")
        COPY = "copy", _("Copy")
        BOTH = "both", _("Original and copy")
        ELECTRONIC = "electronic", _("Electronic")

    class Provided(models.TextChoices):
        """How the applicant provides a material (``provided_form``): its form, except that
        where no trip is made an original is checked online and never brought."""

        ORIGINAL = "original", _("Original")
        COPY = "copy", _("Copy")
        BOTH = "both", _("Original and copy")
        ELECTRONIC = "electronic", _("Electronic")
        VERIFIED_ONLINE = "verified_online", _("Verified online, nothing to bring")

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="materials")
    name = models.CharField(_("name"), max_length=300)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.APPLICANT
    )
    form = models.CharField(_("form"), max_length=10, choices=Form.choices, default=Form.ELECTRONIC)
    required = models.BooleanField(_("required"), default=True)
    copies = models.PositiveSmallIntegerField(_("copies"), default=1)
    issuer = models.ForeignKey(
        Department,
        verbose_name=_("issuing department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ["item_id", "sort_order", "id"]

    def __str__(self) -> str:
        return self.name

    def provided_form(self, *, trips: int | None = None) -> str:
        """The form the applicant provides this material in (a ``Provided`` value), applying
        for its item (or, given ``trips``, in a way that takes that many trips to the hall).

        Where no trip is made, an original (alone or with a copy) is ``VERIFIED_ONLINE``: the
        identity by real-name authentication, a certificate by the department that holds it. A
        zero-trip service never asks anyone to bring an original. Every page, the API and the
        JSON-LD read a material's form through here."""
        if trips is None:
            trips = self.item.trips
        if trips == 0 and self.form in (self.Form.ORIGINAL, self.Form.BOTH):
            return self.Provided.VERIFIED_ONLINE
        return self.form

    def get_provided_form_display(self, *, trips: int | None = None) -> str:
        """``provided_form`` as words."""
        provided = self.provided_form(trips=trips)
        return str(dict(self.Provided.choices).get(provided, provided))


class JointStage(models.Model):
    """Which department takes which stage of a jointly handled item (co_department)."""

    class Stage(models.TextChoices):
        ACCEPT = "accept", _("Acceptance")  # 受理
        REVIEW = "review", _("Review")  # 审核
        DECIDE = "decide", _("Decision and publication")  # 决定与公开
        ISSUE = "issue", _("Certificate production and delivery")  # 证件制定与送达

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="joint_stages")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)

    class Meta:
        verbose_name = _("joint-handling stage")
        verbose_name_plural = _("joint-handling stages")
        ordering = ["item_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "department", "stage"], name="joint_stage_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.get_stage_display()}"


class ServiceItemVersion(models.Model):
    """A published version of an item, kept whole so that what an application saw stays readable."""

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    snapshot = models.JSONField(_("content"))
    published_at = models.DateTimeField(_("published at"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("what changed"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("item version")
        verbose_name_plural = _("item versions")
        ordering = ["item_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="item_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} v{self.number}"

    @property
    def public_snapshot(self) -> dict:
        """The snapshot as the public reads it: each material's form as
        ``Material.provided_form`` words it for the version's trips."""
        snapshot = dict(self.snapshot or {})
        trips = snapshot.get("trips", ServiceItem._meta.get_field("trips").default)
        if "materials" in snapshot:
            snapshot["materials"] = [
                {**row, "form": Material(form=row.get("form", "")).provided_form(trips=trips)}
                for row in snapshot["materials"] or []
            ]
        return snapshot


class Bundle(TimeStampedModel):
    """一件事: several items of several departments sold as one product with one form."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=100)
    audience = models.CharField(
        _("audience"), max_length=12, choices=Audience.choices, default=Audience.CITIZEN
    )
    summary = models.TextField(_("summary"), blank=True)
    life_event = models.ForeignKey(
        LifeEvent,
        verbose_name=_("life event"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bundles",
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="bundles"
    )
    promised_days = models.PositiveIntegerField(
        _("promised limit (working days)"), null=True, blank=True
    )
    trips = models.PositiveSmallIntegerField(_("trips to the hall"), default=0)
    eligibility = models.JSONField(
        _("who may apply online"),
        default=list,
        blank=True,
        editable=False,
        help_text=_("The active workflow's eligibility rules in words, recorded on activation."),
    )
    items = models.ManyToManyField(ServiceItem, through="BundleItem", related_name="bundles")
    popularity = models.PositiveIntegerField(_("popularity"), default=0)
    is_active = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("bundle (one thing)")
        verbose_name_plural = _("bundles (one thing)")
        ordering = ["-popularity", "slug"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:bundle", kwargs={"slug": self.slug})


class BundleItem(models.Model):
    bundle = models.ForeignKey(Bundle, on_delete=models.CASCADE, related_name="parts")
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="+")
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("bundle item")
        verbose_name_plural = _("bundle items")
        ordering = ["bundle_id", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "item"], name="bundle_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_id}: {self.item_id}"


class Synonym(models.Model):
    """How people say it → how the catalog says it (生孩子 → 出生), edited by staff in admin."""

    phrase = models.CharField(_("what people say"), max_length=60, unique=True)
    expansion = models.CharField(
        _("catalog words"),
        max_length=200,
        help_text=_("Words searched in its place, separated by spaces."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("search synonym")
        verbose_name_plural = _("search synonyms")
        ordering = ["phrase"]

    def __str__(self) -> str:
        return f"{self.phrase} → {self.expansion}"
