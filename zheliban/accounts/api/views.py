from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from zheliban.accounts.errors import AccountsErrorCode
from zheliban.core.api import ErrorSerializer

from .. import services
from ..throttling import lockout_message, lockout_minutes, login_succeeded
from .serializers import (
    MeSerializer,
    RegistrationSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)


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


class TokenView(APIView):
    """Exchange credentials for an API token. Login throttling applies as on the login page:
    failures count against the account however its name is spelled, and against the address;
    past the limit the answer is 429 ``login_locked`` with ``Retry-After``."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        operation_id="auth_token_create",
        tags=["accounts"],
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: ErrorSerializer,
            429: OpenApiResponse(
                ErrorSerializer,
                description="`login_locked`: too many failed logins for the account (however "
                "its name is spelled) or from the address; `Retry-After` gives the seconds to "
                "wait. `throttled`: too many requests.",
            ),
        },
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if getattr(request, "axes_locked_out", False):
            locked = exceptions.Throttled(
                detail=lockout_message(request), code=AccountsErrorCode.LOGIN_LOCKED
            )
            locked.wait = lockout_minutes(request) * 60  # sent as Retry-After
            raise locked
        if user is None:
            raise exceptions.ValidationError(
                {
                    "username": [
                        exceptions.ErrorDetail(
                            _("The account or password is wrong. Please try again."),
                            code=AccountsErrorCode.INVALID_LOGIN,
                        )
                    ]
                }
            )
        login_succeeded(user=user)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
