"""The public, read-only catalog API: item search and guides, JSON-LD, themes, events, bundles."""

from django.db.models import prefetch_related_objects
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from zheliban.core.api import SLUG_PATTERN, ErrorSerializer, Pagination
from zheliban.core.schema import link, response_links

from .. import selectors
from ..models import ServiceItem
from ..search import SearchResult, search_items
from ..search import cache as search_cache
from .jsonld import ZHELIBAN_NS, item_as_jsonld
from .serializers import (
    BundleDetailSerializer,
    BundleSerializer,
    ItemDetailSerializer,
    ItemSearchQuerySerializer,
    ItemSerializer,
    ItemVersionSerializer,
    LifeEventSerializer,
    ThemeSerializer,
)

ITEM_CODE_PATTERN = r"[-a-zA-Z0-9_]+"
ITEM_CODE_EXAMPLE = "11440000006939756B2440101007000"
CODE_PARAMETER = OpenApiParameter(
    "code",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=f"^{ITEM_CODE_PATTERN}$",
    description="The item's implementation code (实施编码).",
    examples=[OpenApiExample("An implementation code", value=ITEM_CODE_EXAMPLE)],
)
# Rows skipped before a page may not pass what every database's integer holds.
MAX_OFFSET = 2**31 - 1


class JSONLDRenderer(JSONRenderer):
    media_type = "application/ld+json"
    format = "jsonld"


class JSONLDOnly(BaseContentNegotiation):
    """The JSON-LD route answers JSON-LD whatever the client's Accept header says."""

    def select_parser(self, request, parsers):
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ItemSearchPagination(Pagination):
    """A page of search results: the shared page shape plus the engine's facets and terms.

    The search engine pages by itself, so this only reads and checks ``page`` and ``page_size``
    (refusing them as every other list does), runs the search once and builds the links.
    """

    def paginate_search(
        self, request, *, text: str, filters: dict, region: str = ""
    ) -> list[ServiceItem]:
        self.request = request
        page_size = self.get_page_size(request)
        # An empty page is the first, as for every other list.
        raw = request.query_params.get(self.page_query_param) or "1"
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise exceptions.NotFound(self.invalid_page_message)
        number = int(raw)
        if (number - 1) * page_size > MAX_OFFSET:
            raise exceptions.NotFound(self.invalid_page_message)
        self.result: SearchResult = search_items(
            text=text, filters=filters, page=number, page_size=page_size, region=region
        )
        if number > self.result.pages:
            raise exceptions.NotFound(self.invalid_page_message)
        return self.result.items

    def get_next_link(self):
        if self.result.page >= self.result.pages:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.page_query_param, self.result.page + 1)

    def get_previous_link(self):
        if self.result.page <= 1:
            return None
        url = self.request.build_absolute_uri()
        if self.result.page == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.result.page - 1)

    def get_paginated_response(self, data):
        facets = {
            key: [
                {"value": f.value, "label": str(f.label), "count": f.count, "selected": f.selected}
                for f in values
            ]
            for key, values in self.result.facets.items()
        }
        return Response(
            {
                "count": self.result.total,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
                "bundles": BundleSerializer(
                    self.result.bundles, many=True, context={"request": self.request}
                ).data,
                "facets": facets,
                "terms": list(self.result.terms),
                "corrected": getattr(self.result, "corrected", ""),
                "expanded_from": getattr(self.result, "expanded_from", ""),
                "partial": getattr(self.result, "partial", False),
            }
        )

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = [
            "count",
            "results",
            "bundles",
            "facets",
            "terms",
            "corrected",
            "expanded_from",
            "partial",
        ]
        paginated["properties"]["bundles"] = {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Bundle"},
            "description": "The bundles (一件事: several items applied for together) the words "
            "find, best first, to be offered before the items: on the first page of a search "
            "for words, unless a filter only items have (department, type, theme, online, "
            "mobile, id_only) is applied; empty otherwise.",
        }
        paginated["properties"]["facets"] = {
            "type": "object",
            "description": "Facet counts over the whole filtered result, by filter (type, "
            "department, region, theme, ...): the value to pass back as that filter, its "
            "label, how many items have it, and whether it is the filter now applied.",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "string"},
                        "label": {"type": "string"},
                        "count": {"type": "integer"},
                        "selected": {"type": "boolean"},
                    },
                    "required": ["value", "label", "count", "selected"],
                },
            },
        }
        paginated["properties"]["terms"] = {
            "type": "array",
            "items": {"type": "string"},
            "description": "The words the engine searched for, after segmentation.",
        }
        paginated["properties"]["corrected"] = {
            "type": "string",
            "description": 'The words searched instead of mistyped ones ("showing results '
            'for ..."); empty when the words were searched as given.',
        }
        paginated["properties"]["expanded_from"] = {
            "type": "string",
            "description": "The everyday phrases the synonym table rewrote into catalog words "
            "(生孩子 → 出生); empty when none.",
        }
        paginated["properties"]["partial"] = {
            "type": "boolean",
            "description": "True when no item holds every word and the results hold some.",
        }
        return paginated


JSONLD_SCHEMA = {
    "type": "object",
    "description": "A CPSV-AP 3.x `cpsv:PublicService`. Our own elements are in the namespace "
    f"`zb:` = <{ZHELIBAN_NS}>: zb:statutoryDays, zb:promisedDays (working days), "
    "zb:compression, zb:workingDays (cv:processingTime counts working days), zb:trips, "
    "zb:online, zb:mobile, zb:idOnly, zb:version, zb:itemType; on each cv:Evidence zb:source, "
    "zb:form, zb:required, zb:copies, zb:issuer.",
    "properties": {
        "@context": {"type": "object"},
        "@id": {"type": "string", "format": "uri"},
        "@type": {"type": "string", "enum": ["cpsv:PublicService"]},
        "dct:identifier": {"type": "string"},
        "dct:title": {"type": "string"},
        "cv:hasCompetentAuthority": {"type": "object"},
        "cpsv:hasInput": {"type": "array", "items": {"type": "object"}},
        "cv:hasChannel": {"type": "array", "items": {"type": "object"}},
        "cv:processingTime": {"type": "string", "example": "P5D"},
    },
    "required": ["@context", "@id", "@type", "dct:identifier", "dct:title"],
}
JSONLD_DESCRIPTION = (
    "The item as CPSV-AP 3.x JSON-LD (`application/ld+json`), the EU Core Public Service "
    "Vocabulary: dct:identifier (code), dct:title, dct:description (summary), "
    "cv:hasCompetentAuthority (cv:PublicOrganisation with dct:spatial), cpsv:hasInput "
    "(cv:Evidence per material), cv:hasCost (yuan, CNY), cv:hasChannel, cv:isClassifiedBy "
    "(themes), cv:thematicArea (department kind), cv:isGroupedBy (life events), "
    "cv:hasLegalResource (legal basis), cv:hasParticipation (joint handling), dct:spatial, "
    "cv:processingTime (ISO 8601, in working days). Extra elements of the national list are in "
    f"our namespace `zb:` = <{ZHELIBAN_NS}>."
)
ERRORS_AS_JSON = {
    (400, "application/json"): ErrorSerializer,
    (404, "application/json"): ErrorSerializer,
}


def _item_for_api(*, code: str) -> ServiceItem:
    """The published item with what its guide and its JSON-LD show, in a fixed number of
    queries (the guide's, and the department's region for JSON-LD)."""
    item = selectors.item_get_guide(code=code)
    prefetch_related_objects([item], "department__region")
    return item


def _jsonld(request, item: ServiceItem) -> dict:
    return item_as_jsonld(
        item, url_for=lambda obj: request.build_absolute_uri(obj.get_absolute_url())
    )


@extend_schema_view(
    list=extend_schema(
        operation_id="items_list",
        tags=["catalog"],
        summary="Search the catalog",
        description="Published items matching the words, filtered, ranked by relevance then "
        "popularity, with facet counts over the whole filtered result; for a signed-in citizen "
        "or enterprise, the items named by the words in their own region (from the ID number "
        "or credit code), and the city and province above it, rank first. On the first page, "
        "`bundles` lists the bundles (一件事) the words find, to offer before the items. A "
        "filter value that is not well formed (an unknown type, a flag other than 0 or 1, a "
        "region that is not six digits, ...) is refused with 400.",
        parameters=[ItemSearchQuerySerializer],
        extensions=response_links(
            {
                200: {
                    "FirstItem": link(
                        "items_retrieve",
                        "The guide of the first item found.",
                        code="$response.body#/results/0/code",
                    ),
                    "FirstItemAsJsonLd": link(
                        "items_jsonld_retrieve",
                        "The first item found as CPSV-AP JSON-LD.",
                        code="$response.body#/results/0/code",
                    ),
                }
            }
        ),
    ),
    retrieve=extend_schema(
        operation_id="items_retrieve",
        tags=["catalog"],
        summary="An item's guide",
        description="Everything the published item's guide says, with its materials, joint "
        "handling, themes, life events and versions. With `?format=jsonld` (or `Accept: "
        "application/ld+json`) the item as CPSV-AP JSON-LD instead, as from its `jsonld/` "
        "route.",
        parameters=[CODE_PARAMETER],
        responses={
            (200, "application/json"): ItemDetailSerializer,
            (200, "application/ld+json"): OpenApiResponse(JSONLD_SCHEMA, JSONLD_DESCRIPTION),
            **ERRORS_AS_JSON,
        },
        extensions=response_links(
            {
                200: {
                    "CurrentVersion": link(
                        "items_versions_retrieve",
                        "The version now published, as stored.",
                        code="$response.body#/code",
                        number="$response.body#/version",
                    )
                }
            }
        ),
    ),
)
class ItemViewSet(viewsets.GenericViewSet):
    """Published service items: search, guides, versions and CPSV-AP JSON-LD."""

    permission_classes = [permissions.AllowAny]
    lookup_field = "code"
    lookup_value_regex = ITEM_CODE_PATTERN
    pagination_class = ItemSearchPagination
    filter_backends: list = []
    serializer_class = ItemSerializer
    queryset = ServiceItem.objects.none()

    def get_renderers(self):
        renderers = super().get_renderers()
        if self.action == "retrieve":
            renderers.append(JSONLDRenderer())
        return renderers

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # Errors keep the shared JSON shape and media type, whatever representation was asked.
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is None or isinstance(renderer, JSONLDRenderer):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def list(self, request):
        query = ItemSearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # A signed-in citizen's or enterprise's own region ranks first, as on the pages.
        region = selectors.user_region_code(user=request.user)
        # The page as data, kept for the catalog's generation like the search pages' HTML: the
        # same address (its links are absolute) in the same language (and for the same region)
        # answers without searching.
        data = search_cache.remember(
            "api-items",
            [request.build_absolute_uri(), get_language(), region],
            lambda: self._search_page(request, query, region),
        )
        return Response(data)

    def _search_page(self, request, query: ItemSearchQuerySerializer, region: str) -> dict:
        arguments = query.search_arguments()
        items = self.paginator.paginate_search(request, region=region, **arguments)
        return self.get_paginated_response(self.get_serializer(items, many=True).data).data

    def retrieve(self, request, code: str):
        item = _item_for_api(code=code)
        if isinstance(request.accepted_renderer, JSONLDRenderer):
            return Response(_jsonld(request, item))
        return Response(ItemDetailSerializer(item, context=self.get_serializer_context()).data)

    @extend_schema(
        operation_id="items_jsonld_retrieve",
        tags=["catalog"],
        summary="An item as CPSV-AP JSON-LD",
        description=JSONLD_DESCRIPTION,
        parameters=[CODE_PARAMETER],
        responses={
            (200, "application/ld+json"): OpenApiResponse(JSONLD_SCHEMA, JSONLD_DESCRIPTION),
            **ERRORS_AS_JSON,
        },
    )
    @action(
        detail=True,
        url_path="jsonld",
        renderer_classes=[JSONLDRenderer],
        content_negotiation_class=JSONLDOnly,
    )
    def jsonld(self, request, code: str):
        item = _item_for_api(code=code)
        return Response(_jsonld(request, item))

    @extend_schema(
        operation_id="items_versions_retrieve",
        tags=["catalog"],
        summary="A published version of an item",
        description="The item's elements as stored when that version was published: what an "
        "application filed under it saw. Versions of a withdrawn item are not public.",
        parameters=[
            CODE_PARAMETER,
            OpenApiParameter(
                "number",
                OpenApiTypes.INT,
                OpenApiParameter.PATH,
                description="Version number.",
                examples=[OpenApiExample("The first version", value=1)],
            ),
        ],
        responses={200: ItemVersionSerializer, **ERRORS_AS_JSON},
    )
    @action(detail=True, url_path=r"versions/(?P<number>[0-9]{1,9})", url_name="version")
    def version(self, request, code: str, number: str):
        version = selectors.item_version_get_public(code=code, number=int(number))
        return Response(ItemVersionSerializer(version).data)


@extend_schema_view(
    list=extend_schema(operation_id="themes_list", tags=["catalog"], summary="Themes"),
)
class ThemeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Subject headings (主题分类) that group items; each links to its items in the search."""

    serializer_class = ThemeSerializer
    permission_classes = [permissions.AllowAny]
    filterset_fields = ["audience"]

    def get_queryset(self):
        return selectors.theme_list()


@extend_schema_view(
    list=extend_schema(operation_id="life_events_list", tags=["catalog"], summary="Life events"),
)
class LifeEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Moments in a life or a business (出生, 退休, 企业开办) by which people look for services."""

    serializer_class = LifeEventSerializer
    permission_classes = [permissions.AllowAny]
    filterset_fields = ["audience"]

    def get_queryset(self):
        return selectors.life_event_list()


@extend_schema_view(
    list=extend_schema(
        operation_id="bundles_list",
        tags=["catalog"],
        summary="Bundles",
        extensions=response_links(
            {
                200: {
                    "FirstBundle": link(
                        "bundles_retrieve",
                        "The first bundle with its items.",
                        slug="$response.body#/results/0/slug",
                    )
                }
            }
        ),
    ),
    retrieve=extend_schema(
        operation_id="bundles_retrieve",
        tags=["catalog"],
        summary="A bundle with its items in order",
        parameters=[
            OpenApiParameter(
                "slug",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                pattern=SLUG_PATTERN,
                examples=[OpenApiExample("Newborn", value="newborn", summary="新生儿出生一件事")],
            )
        ],
        responses={200: BundleDetailSerializer, 404: ErrorSerializer},
    ),
)
class BundleViewSet(viewsets.ReadOnlyModelViewSet):
    """Bundles (一件事): several items of several departments applied for as one."""

    permission_classes = [permissions.AllowAny]
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN[1:-1]
    filterset_fields = ["audience"]

    def get_queryset(self):
        return selectors.bundle_list_public()

    def get_object(self):
        return selectors.bundle_get_public(slug=self.kwargs["slug"])

    def get_serializer_class(self):
        return BundleDetailSerializer if self.action == "retrieve" else BundleSerializer
