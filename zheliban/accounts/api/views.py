from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from zheliban.core.api import ErrorSerializer

from .. import services
from .serializers import MeSerializer, RegistrationSerializer


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me_retrieve",
        tags=["accounts"],
        responses={200: MeSerializer, 401: ErrorSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        operation_id="accounts_register",
        tags=["accounts"],
        request=RegistrationSerializer,
        responses={201: MeSerializer, 400: ErrorSerializer},
    )
    def post(self, request):
        data = RegistrationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(MeSerializer(user).data, status=status.HTTP_201_CREATED)
