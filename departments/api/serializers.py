from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Department, Membership, Region, ServiceLocation


class RegionSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Region
        fields = ["code", "name", "level", "parent"]


class ServiceLocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceLocation
        fields = ["name", "address", "windows", "opening_hours", "phone"]


class DepartmentSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    region_name = serializers.CharField(source="region.name", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Department
        fields = [
            "code",
            "name",
            "kind",
            "region",
            "region_name",
            "phone",
            "complaint_phone",
            "address",
            "url",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Department) -> str:
        request = self.context.get("request")
        path = obj.get_absolute_url()
        return request.build_absolute_uri(path) if request else path


class DepartmentDetailSerializer(DepartmentSerializer):
    locations = ServiceLocationSerializer(many=True, read_only=True)

    class Meta(DepartmentSerializer.Meta):
        fields = [*DepartmentSerializer.Meta.fields, "description", "locations"]


class MembershipSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    user_name = serializers.CharField(source="user.real_name", read_only=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "user_name", "department", "role", "created_at"]
