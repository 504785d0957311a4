"""Read-only shapes of the catalog API, and the query of the item search."""

from urllib.parse import quote

from django.urls import reverse as django_reverse
from django.utils.functional import cached_property
from django.utils.html import escape
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from zheliban.core.api import SLUG_PATTERN, CodeNameSerializer, FlagField

from ..models import (
    Audience,
    Bundle,
    BundleItem,
    JointStage,
    LifeEvent,
    Material,
    ServiceItem,
    ServiceItemVersion,
    Theme,
)

# What Django's reverse() leaves unquoted in a path, less "/" (a code is one segment).
URL_SAFE_IN_SEGMENT = "!$&'()*+,;=~:@"
FLAGS = ("online", "mobile", "zero_trips", "id_only")


def _web_url(context, obj) -> str:
    request = context.get("request")
    path = obj.get_absolute_url()
    return request.build_absolute_uri(path) if request else path


def _api_url(context, name: str, **kwargs) -> str:
    return reverse(name, kwargs=kwargs, request=context.get("request"))


class ItemSearchQuerySerializer(serializers.Serializer):
    """Query of ``GET /api/v1/items/``; empty values are the same as absent ones."""

    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="What the citizen typed: Chinese words, pinyin or pinyin initials (hkdj).",
    )
    department = serializers.RegexField(
        SLUG_PATTERN,
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="Implementing department's code.",
    )
    region = serializers.RegexField(
        r"^[0-9]{6}$",
        required=False,
        allow_blank=True,
        help_text="Region's six-digit code (GB/T 2260).",
    )
    type = serializers.ChoiceField(
        choices=ServiceItem.ItemType.choices, required=False, allow_blank=True
    )
    theme = serializers.SlugField(
        required=False, allow_blank=True, max_length=60, help_text="Theme's slug."
    )
    life_event = serializers.SlugField(
        required=False, allow_blank=True, max_length=60, help_text="Life event's slug."
    )
    audience = serializers.ChoiceField(
        choices=[(a.value, a.label) for a in (Audience.CITIZEN, Audience.ENTERPRISE)],
        required=False,
        allow_blank=True,
        help_text="Only items addressed to citizens (自然人) or to enterprises (法人).",
    )
    online = FlagField(
        help_text="1: only items that can be handled online. 0 or absent: no restriction.",
    )
    mobile = FlagField(
        help_text="1: only items that can be handled on a phone. 0 or absent: no restriction.",
    )
    zero_trips = FlagField(
        help_text="1: only items that need no trip to the hall. 0 or absent: no restriction.",
    )
    id_only = FlagField(
        help_text="1: only items the ID card alone suffices for (一证通办). "
        "0 or absent: no restriction.",
    )

    def search_arguments(self) -> dict:
        """``text`` and ``filters`` for ``catalog.search.search_items``."""
        data = dict(self.validated_data)
        text = data.pop("search", "")
        # A flag at 0 means "whatever", never "only those without it".
        filters = {
            key: value
            for key, value in data.items()
            if value and not (key in FLAGS and value == "0")
        }
        return {"text": text, "filters": filters}


class ReadModelSerializer(serializers.ModelSerializer):
    # A response shape: every field read-only, so that none carries the database's integer
    # bounds (SQLite's and PostgreSQL's differ, and the committed schema must not).

    def get_extra_kwargs(self):
        extra = super().get_extra_kwargs()
        for name in self.Meta.fields:
            extra.setdefault(name, {})["read_only"] = True
        return extra


class SlugNameSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class ItemLinks:
    """Addresses of many items at the cost of one ``reverse`` per route, for long result pages."""

    PLACEHOLDER = "__code__"

    def __init__(self, request) -> None:
        self.web = self._template(request, "catalog:item")
        self.api = self._template(request, "api:item-detail")

    @classmethod
    def _template(cls, request, name: str) -> str:
        path = django_reverse(name, kwargs={"code": cls.PLACEHOLDER})
        return request.build_absolute_uri(path) if request else path

    @classmethod
    def fill(cls, template: str, code: str) -> str:
        return template.replace(cls.PLACEHOLDER, quote(code, safe=URL_SAFE_IN_SEGMENT))


class ItemSerializer(serializers.Serializer):
    """An item in a page of search results."""

    # The fields document the shape; ``to_representation`` builds it by hand, because a page of
    # results must cost next to nothing beyond the search itself.

    code = serializers.CharField()
    name = serializers.CharField()
    highlighted_name = serializers.CharField(
        help_text="The name as HTML, with the words that matched the search in <mark>; "
        "the (escaped) name when the search engine marks nothing."
    )
    department = CodeNameSerializer()
    region = CodeNameSerializer()
    item_type = serializers.ChoiceField(choices=ServiceItem.ItemType.choices)
    for_citizens = serializers.BooleanField()
    for_enterprises = serializers.BooleanField()
    statutory_days = serializers.IntegerField(
        allow_null=True, help_text="Statutory limit in working days; null when the law sets none."
    )
    promised_days = serializers.IntegerField(
        allow_null=True,
        help_text="Promised limit in working days; 0: handled on the spot; null: none promised.",
    )
    trips = serializers.IntegerField(help_text="Trips to the service hall.")
    online = serializers.BooleanField()
    mobile = serializers.BooleanField()
    id_only = serializers.BooleanField(help_text="The ID card alone suffices (一证通办).")
    fee_fen = serializers.IntegerField(help_text="Fee in fen (1/100 yuan); 0 when free.")
    url = serializers.URLField(help_text="The item's guide on the web.")
    api_url = serializers.URLField()

    @cached_property
    def _links(self) -> ItemLinks:
        return ItemLinks(self.context.get("request"))

    def to_representation(self, instance: ServiceItem) -> dict:
        links = self._links
        department, region = instance.department, instance.region
        return {
            "code": instance.code,
            "name": instance.name,
            "highlighted_name": getattr(instance, "highlighted_name", None)
            or escape(instance.name),
            "department": {"code": department.code, "name": department.name},
            "region": {"code": region.code, "name": region.name},
            "item_type": instance.item_type,
            "for_citizens": instance.for_citizens,
            "for_enterprises": instance.for_enterprises,
            "statutory_days": instance.statutory_days,
            "promised_days": instance.promised_days,
            "trips": instance.trips,
            "online": instance.online,
            "mobile": instance.mobile,
            "id_only": instance.id_only,
            "fee_fen": instance.fee_fen,
            "url": ItemLinks.fill(links.web, instance.code),
            "api_url": ItemLinks.fill(links.api, instance.code),
        }


class MaterialSerializer(ReadModelSerializer):
    form = serializers.ChoiceField(
        choices=Material.Provided.choices,
        source="provided_form",
        read_only=True,
        help_text="How the applicant provides it: original, copy, both, electronic, or "
        "verified_online (an original checked online, never brought: for an item that needs "
        "no trip to the hall).",
    )
    issuer = CodeNameSerializer(allow_null=True, help_text="Department that issues it, if any.")

    class Meta:
        model = Material
        fields = ["name", "source", "form", "required", "copies", "issuer", "note"]


class JointStageSerializer(ReadModelSerializer):
    department = CodeNameSerializer()

    class Meta:
        model = JointStage
        fields = ["department", "stage"]


class ItemVersionSummarySerializer(ReadModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ServiceItemVersion
        fields = ["number", "published_at", "note", "url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: ServiceItemVersion) -> str:
        return _api_url(
            self.context, "api:item-version", code=self.context["code"], number=obj.number
        )


class ItemLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    web = serializers.URLField(help_text="The guide on the web.")
    jsonld = serializers.URLField(help_text="The item as CPSV-AP JSON-LD.")
    department = serializers.URLField()


class ItemDetailSerializer(ReadModelSerializer):
    """Everything the item's guide says, as now published."""

    department = CodeNameSerializer()
    region = CodeNameSerializer()
    compression = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Share of the statutory limit the promise removes (0.75 = 75% shorter).",
    )
    online_url = serializers.CharField(
        help_text="Where to apply online (a URL); empty when there is no such address."
    )
    form_fields = serializers.ListField(
        child=serializers.DictField(),
        help_text="Fields the application form asks for: name, label, type, required.",
    )
    materials = MaterialSerializer(many=True)
    joint_stages = JointStageSerializer(many=True)
    themes = SlugNameSerializer(many=True)
    life_events = SlugNameSerializer(many=True)
    bundles = SlugNameSerializer(
        many=True, source="active_bundles", help_text="Published bundles it is part of."
    )
    versions = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = ServiceItem
        fields = [
            "code",
            "basic_code",
            "main_code",
            "main_name",
            "sub_name",
            "name",
            "item_type",
            "for_citizens",
            "for_enterprises",
            "department",
            "region",
            "summary",
            "legal_basis",
            "acceptance_conditions",
            "statutory_days",
            "promised_days",
            "compression",
            "trips",
            "online",
            "mobile",
            "counter",
            "courier",
            "appointment",
            "id_only",
            "fee_fen",
            "fee_note",
            "consult_phone",
            "complaint_phone",
            "location",
            "online_url",
            "form_fields",
            "materials",
            "joint_stages",
            "themes",
            "life_events",
            "bundles",
            "version",
            "versions",
            "updated_at",
            "links",
        ]

    @extend_schema_field(ItemVersionSummarySerializer(many=True))
    def get_versions(self, obj: ServiceItem):
        return ItemVersionSummarySerializer(
            obj.versions.all(), many=True, context={**self.context, "code": obj.code}
        ).data

    @extend_schema_field(ItemLinksSerializer)
    def get_links(self, obj: ServiceItem) -> dict:
        return {
            "self": _api_url(self.context, "api:item-detail", code=obj.code),
            "web": _web_url(self.context, obj),
            "jsonld": _api_url(self.context, "api:item-jsonld", code=obj.code),
            "department": _api_url(self.context, "api:department-detail", code=obj.department.code),
        }


class ItemVersionSerializer(ReadModelSerializer):
    """A published version as it was stored: what an application filed under it saw."""

    code = serializers.CharField(source="item.code")
    snapshot = serializers.DictField(
        source="public_snapshot",
        help_text="The item's elements as published: the fields of the item detail, with "
        "department and region as {code, name}, materials, themes and joint stages. A "
        "material's form reads as in the item detail: verified_online for an original when "
        "the version needs no trip.",
    )

    class Meta:
        model = ServiceItemVersion
        fields = ["code", "number", "published_at", "note", "snapshot"]


class ThemeSerializer(ReadModelSerializer):
    url = serializers.SerializerMethodField()
    items_url = serializers.SerializerMethodField(help_text="Its items in the search API.")

    class Meta:
        model = Theme
        fields = ["slug", "name", "name_en", "audience", "url", "items_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj) -> str:
        return _web_url(self.context, obj)

    @extend_schema_field(OpenApiTypes.URI)
    def get_items_url(self, obj) -> str:
        return f"{_api_url(self.context, 'api:item-list')}?theme={obj.slug}"


class LifeEventSerializer(ThemeSerializer):
    class Meta:
        model = LifeEvent
        fields = ["slug", "name", "name_en", "audience", "description", "url", "items_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_items_url(self, obj) -> str:
        return f"{_api_url(self.context, 'api:item-list')}?life_event={obj.slug}"


class BundleSerializer(ReadModelSerializer):
    life_event = SlugNameSerializer(allow_null=True)
    region = CodeNameSerializer()
    url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = Bundle
        fields = [
            "slug",
            "name",
            "audience",
            "summary",
            "life_event",
            "region",
            "promised_days",
            "trips",
            "url",
            "api_url",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Bundle) -> str:
        return _web_url(self.context, obj)

    @extend_schema_field(OpenApiTypes.URI)
    def get_api_url(self, obj: Bundle) -> str:
        return _api_url(self.context, "api:bundle-detail", slug=obj.slug)


class BundlePartItemSerializer(ReadModelSerializer):
    department = CodeNameSerializer()
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = ServiceItem
        fields = ["code", "name", "department", "api_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_api_url(self, obj: ServiceItem) -> str:
        return _api_url(self.context, "api:item-detail", code=obj.code)


class BundlePartSerializer(ReadModelSerializer):
    item = BundlePartItemSerializer()

    class Meta:
        model = BundleItem
        fields = ["sort_order", "item"]


class EligibilitySerializer(serializers.Serializer):
    says = serializers.CharField(help_text="The condition, in plain words.")
    instead = serializers.CharField(help_text="What to do when it does not hold; may be empty.")


class BundleDetailSerializer(BundleSerializer):
    parts = BundlePartSerializer(many=True, help_text="The bundle's items, in order.")
    eligibility = EligibilitySerializer(
        many=True,
        help_text="Who may apply online: the active workflow's rules, checked against the "
        "registers before the form and on submission (an unmet rule answers 400 `ineligible`).",
    )

    class Meta(BundleSerializer.Meta):
        fields = [*BundleSerializer.Meta.fields, "parts", "eligibility"]
