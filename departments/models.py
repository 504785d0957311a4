from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from departments.errors import DepartmentsErrorCode
from zheliban.core.models import TimeStampedModel

# A region's code: six digits (GB/T 2260) for a province, city or county; nine for a street,
# town or township (its county's six and three of its own, as the statistical division codes
# give them).
region_code_validator = RegexValidator(
    r"^\d{6}(\d{3})?$",
    _("A region code has six digits, or nine for a street, town or township."),
    code=DepartmentsErrorCode.REGION_CODE_FORMAT,
)
# Down to the county only: published boundaries and what they resolve to.
county_code_validator = RegexValidator(
    r"^\d{6}$",
    _("A region code has exactly six digits."),
    code=DepartmentsErrorCode.REGION_CODE_FORMAT,
)


class Region(models.Model):
    """An administrative division: a province, city or county with its 6-digit code (GB/T 2260),
    or a street, town or township (街道, 镇, 乡) below a county, with its 9-digit code."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County or district")
        STREET = "street", _("Street, town or township")

    code = models.CharField(
        _("code"), max_length=9, unique=True, validators=[region_code_validator]
    )
    name = models.CharField(_("name"), max_length=50)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="street", code__regex=r"^[0-9]{9}$")
                | (~Q(level="street") & Q(code__regex=r"^[0-9]{6}$")),
                name="region_code_digits_match_level",
            ),
            models.CheckConstraint(
                condition=Q(level="province", parent__isnull=True)
                | (~Q(level="province") & Q(parent__isnull=False)),
                name="region_parent_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A street, town or township belongs to a county-level region and its code begins with
        that county's: checks across rows, which a database constraint cannot make. (Counties
        are not held to a city above them: some are administered by their province directly.)"""
        super().clean()
        if self.level != self.Level.STREET:
            return
        parent = self.parent
        if parent is None:
            return  # the database constraint refuses a street without a parent
        if parent.level != self.Level.COUNTY:
            raise ValidationError(
                {
                    "parent": ValidationError(
                        _("A street, town or township belongs to a county or district."),
                        code=DepartmentsErrorCode.REGION_PARENT_LEVEL,
                    )
                }
            )
        if not self.code.startswith(parent.code):
            raise ValidationError(
                {
                    "code": ValidationError(
                        _("A street's code begins with its county's code, %(code)s.")
                        % {"code": parent.code},
                        code=DepartmentsErrorCode.REGION_CODE_FORMAT,
                    )
                }
            )


class Department(TimeStampedModel):
    """An implementing body in a region: its public page is its "shop"."""

    class Kind(models.TextChoices):
        PUBLIC_SECURITY = "gongan", _("Public security")
        HEALTH = "weijian", _("Health")
        HUMAN_RESOURCES = "renshe", _("Human resources and social security")
        MEDICAL_INSURANCE = "yibao", _("Medical insurance")
        MARKET_REGULATION = "shichang", _("Market regulation")
        TAXATION = "shuiwu", _("Taxation")
        CIVIL_AFFAIRS = "minzheng", _("Civil affairs")
        NATURAL_RESOURCES = "ziran", _("Natural resources")
        HOUSING = "zhujian", _("Housing and urban-rural development")
        ECOLOGY = "shengtai", _("Ecology and environment")
        TRANSPORT = "jiaotong", _("Transport")
        EDUCATION = "jiaoyu", _("Education")
        COMMERCE = "shangwu", _("Commerce")
        SERVICE_CENTRE = "zhengwu", _("Government service centre")
        # The offices of a street, town or township: 街道办事处 or 乡镇人民政府, and its
        # comprehensive administrative law enforcement team (综合行政执法队).
        STREET_OFFICE = "jiedao", _("Street or township office")
        ENFORCEMENT = "zhifa", _("Comprehensive law enforcement")
        HOTLINE = "rexian", _("12345 hotline desk")
        OTHER = "other", _("Other")

    code = models.SlugField(
        _("code"),
        max_length=40,
        unique=True,
        help_text=_("Stable identifier used in addresses and the API."),
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="departments"
    )
    phone = models.CharField(_("service phone"), max_length=40, blank=True)
    complaint_phone = models.CharField(_("complaint phone"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["region__code", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="department_unique_name"),
        ]
        indexes = [models.Index(fields=["kind", "region"], name="department_kind_region_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("departments:shop", kwargs={"code": self.code})


class Membership(TimeStampedModel):
    """A member of staff working for a department in one role."""

    class Role(models.TextChoices):
        CLERK = "clerk", _("Clerk")
        SUPERVISOR = "supervisor", _("Supervisor")
        DISPATCHER = "dispatcher", _("Dispatcher")
        ADMIN = "admin", _("Department administrator")
        COUNTER = "counter", _("Counter clerk (一窗受理)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        ordering = ["department__code", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department", "role"], name="membership_unique_role"
            ),
        ]
        indexes = [models.Index(fields=["user", "role"], name="membership_user_role_idx")]

    def __str__(self) -> str:
        return f"{self.user} · {self.department} · {self.get_role_display()}"


class ServiceLocation(TimeStampedModel):
    """A place where a department receives citizens (办事地点): hall, windows, opening hours."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="locations"
    )
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200)
    windows = models.CharField(
        _("windows"),
        max_length=100,
        blank=True,
        help_text=_("For example: windows 12-15, 2nd floor."),
    )
    opening_hours = models.CharField(_("opening hours"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("service location")
        verbose_name_plural = _("service locations")
        ordering = ["department_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["department", "name"], name="location_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ServiceLocationUserPermission(UserObjectPermissionBase):
    """One location shared with one named person outside its department (django-guardian)."""

    content_object = models.ForeignKey(ServiceLocation, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("shared service location")
        verbose_name_plural = _("shared service locations")


class DataGrant(TimeStampedModel):
    """Lets one department read fields another department holds about citizens (可共用但不可见).

    ``view`` hands over the value; ``verify`` only answers whether the value meets a condition the
    consumer states, and never reveals it. Every read through a grant is logged.
    """

    class Mode(models.TextChoices):
        VIEW = "view", _("View the value")
        VERIFY = "verify", _("Verify only (yes or no)")

    owner = models.ForeignKey(
        Department,
        verbose_name=_("owner department"),
        on_delete=models.CASCADE,
        related_name="grants_given",
    )
    consumer = models.ForeignKey(
        Department,
        verbose_name=_("consumer department"),
        on_delete=models.CASCADE,
        related_name="grants_received",
    )
    fields = models.JSONField(
        _("fields"),
        default=list,
        help_text=_("Field names the consumer may read, e.g. hukou_region."),
    )
    purpose = models.CharField(_("purpose"), max_length=200)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    mode = models.CharField(
        _("mode"),
        max_length=8,
        choices=Mode.choices,
        default=Mode.VERIFY,
        help_text=_(
            "View: the consumer reads the values, so a workflow step may be given them as "
            "inputs. Verify only: the consumer learns only whether a value it already has "
            "matches the one held; a workflow step that needs the value cannot use this grant."
        ),
    )
    expires_at = models.DateField(_("expires on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("data-sharing grant")
        verbose_name_plural = _("data-sharing grants")
        ordering = ["owner__code", "consumer__code", "id"]
        indexes = [models.Index(fields=["consumer", "owner"], name="grant_consumer_owner_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(owner=models.F("consumer")), name="grant_not_to_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner} → {self.consumer} ({self.get_mode_display()})"


class Boundary(models.Model):
    """A published administrative boundary (GeoJSON ``MultiPolygon`` in GCJ-02 coordinates) and
    the current region a point inside it belongs to. A boundary drawn before a reorganisation
    resolves to the region that now holds all of it, or, where its area was split between
    regions since, to the city above (``exact`` is then false): never a guess."""

    class Level(models.TextChoices):
        CITY = "city", _("City")
        COUNTY = "county", _("County or district")

    code = models.CharField(_("code as published"), max_length=6, unique=True)
    name = models.CharField(_("name as published"), max_length=50)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    region_code = models.CharField(
        _("region a point inside belongs to"), max_length=6, validators=[county_code_validator]
    )
    exact = models.BooleanField(
        _("exact"), default=True, help_text=_("False where only the city above can be told.")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    geometry = models.JSONField(_("geometry (GeoJSON, GCJ-02)"))
    min_lng = models.FloatField()
    min_lat = models.FloatField()
    max_lng = models.FloatField()
    max_lat = models.FloatField()

    class Meta:
        verbose_name = _("boundary")
        verbose_name_plural = _("boundaries")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["min_lng", "max_lng", "min_lat", "max_lat"], name="boundary_bbox")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
