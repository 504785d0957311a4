import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import filters, permissions, viewsets

from zheliban.core.api import ErrorSerializer, FilterBackend
from zheliban.core.schema import link, response_links

from .. import selectors
from ..models import Department, Membership, Region
from .serializers import (
    DepartmentDetailSerializer,
    DepartmentSerializer,
    MembershipSerializer,
    RegionSerializer,
)


class RegionFilter(django_filters.FilterSet):
    parent = django_filters.CharFilter(field_name="parent__code")

    class Meta:
        model = Region
        fields = ["level", "parent"]


@extend_schema_view(
    list=extend_schema(
        operation_id="regions_list",
        tags=["departments"],
        extensions=response_links(
            {
                200: {
                    "FirstRegion": link(
                        "regions_retrieve",
                        "The first region listed.",
                        code="$response.body#/results/0/code",
                    )
                }
            }
        ),
    ),
    retrieve=extend_schema(
        operation_id="regions_retrieve",
        tags=["departments"],
        responses={200: RegionSerializer, 404: ErrorSerializer},
    ),
)
class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RegionSerializer
    lookup_field = "code"
    # 6 digits down to a county, 9 for a street, town or township.
    lookup_value_regex = r"\d{6}(?:\d{3})?"
    filterset_class = RegionFilter
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        return selectors.region_list()


class DepartmentFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__code")

    class Meta:
        model = Department
        fields = ["kind", "region"]


@extend_schema_view(
    list=extend_schema(
        operation_id="departments_list",
        tags=["departments"],
        extensions=response_links(
            {
                200: {
                    "FirstDepartment": link(
                        "departments_retrieve",
                        "The first department listed.",
                        code="$response.body#/results/0/code",
                    ),
                    "FirstDepartmentOnTheBoard": link(
                        "scoreboard_department_history",
                        "The first department's figures on the board over time.",
                        code="$response.body#/results/0/code",
                    ),
                }
            }
        ),
    ),
    retrieve=extend_schema(
        operation_id="departments_retrieve",
        tags=["departments"],
        responses={200: DepartmentDetailSerializer, 404: ErrorSerializer},
    ),
)
class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    lookup_field = "code"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    filterset_class = DepartmentFilter
    filter_backends = [FilterBackend, filters.SearchFilter]
    search_fields = ["name", "code"]
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.department_list_public().prefetch_related("locations")
        return selectors.department_list_public()

    def get_serializer_class(self):
        return DepartmentDetailSerializer if self.action == "retrieve" else DepartmentSerializer


@extend_schema_view(
    list=extend_schema(
        operation_id="staff_memberships_list",
        tags=["staff"],
        extensions=response_links(
            {
                200: {
                    "FirstMembership": link(
                        "staff_memberships_retrieve",
                        "The first membership listed.",
                        id="$response.body#/results/0/id",
                    )
                }
            }
        ),
        responses={
            200: MembershipSerializer(many=True),
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
    ),
    retrieve=extend_schema(
        operation_id="staff_memberships_retrieve",
        tags=["staff"],
        responses={
            200: MembershipSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    ),
)
class MembershipViewSet(viewsets.ReadOnlyModelViewSet):
    """Staff memberships of the caller's own departments."""

    serializer_class = MembershipSerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_fields = ["role"]
    queryset = Membership.objects.none()

    def get_queryset(self):
        return selectors.membership_list_for_user(user=self.request.user)
