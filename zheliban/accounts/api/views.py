from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, permissions, status
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from zheliban.accounts.errors import AccountsErrorCode
from zheliban.core.api import ErrorSerializer

from .. import services
from ..authentication import TokenErrorCode
from ..models import PersonalToken
from ..throttling import lockout_message, lockout_minutes, login_succeeded
from .serializers import (
    MeSerializer,
    RegistrationSerializer,
    TokenListSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)

TOKEN_ERRORS = OpenApiResponse(
    ErrorSerializer,
    description="No credentials, or an API token that is unknown (`token_invalid`), expired "
    "(`token_expired`) or revoked (`token_revoked`).",
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
    """Exchange credentials for a new API token (POST), or revoke the token the request came
    with (DELETE). Login throttling applies as on the login page: failures count against the
    account however its name is spelled, and against the address; past the limit the answer is
    429 ``login_locked`` with ``Retry-After``."""

    # POST's; DELETE asks for a login (``get_permissions``) and declares its 401/403 itself.
    permission_classes = [permissions.AllowAny]

    def initialize_request(self, request, *args, **kwargs):
        # Decided here, from the HTTP method, before DRF asks for the authenticators (the
        # schema generator calls this with a mock request of each method, too).
        self.http_method = request.method
        return super().initialize_request(request, *args, **kwargs)

    def _is_login(self) -> bool:
        return getattr(self, "http_method", None) == "POST"

    def get_authenticators(self):
        # POST is a login: no credentials but the ones in the body. DELETE needs the token.
        if self._is_login():
            return []
        return super().get_authenticators()

    def get_permissions(self):
        # Only DELETE needs a login: any other method but POST is answered 405, to anyone.
        if getattr(self, "http_method", None) == "DELETE":
            return [permissions.IsAuthenticated()]
        return [permissions.AllowAny()]

    def get_throttles(self):
        if self._is_login():
            return [AnonRateThrottle()]
        return super().get_throttles()

    @extend_schema(
        operation_id="auth_token_create",
        tags=["accounts"],
        request=TokenRequestSerializer,
        description="Exchange credentials for an API token. Login throttling applies as on the "
        "login page: failures count against the account however its name is spelled, and "
        "against the address; past the limit the answer is 429 `login_locked` with "
        "`Retry-After`. Each call issues a new token, valid for `API_TOKEN_DAYS` days (30 "
        "unless configured); the key is in this answer only. List your tokens with "
        "`GET /api/v1/auth/tokens/` and revoke them when a client no longer needs one.",
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
        token, key = services.personal_token_issue(
            user=user, name=data.validated_data.get("name", "")
        )
        token.token = key
        return Response(TokenSerializer(token).data)

    @extend_schema(
        operation_id="auth_token_destroy",
        tags=["accounts"],
        summary="Revoke the token in use",
        description="Revokes the API token this request authenticated with (a logout for API "
        "clients). A request authenticated by a session has no token to revoke: 400 "
        "`no_token_in_use`.",
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked."),
            400: OpenApiResponse(ErrorSerializer, description="`no_token_in_use`."),
            401: TOKEN_ERRORS,
            403: ErrorSerializer,
        },
    )
    def delete(self, request):
        if not isinstance(request.auth, PersonalToken):
            raise exceptions.ValidationError(
                exceptions.ErrorDetail(
                    _(
                        "This request is not authenticated with an API token, so there is no "
                        "token to revoke. Send the token to revoke in the Authorization header, "
                        "or revoke a token by its id."
                    ),
                    code=TokenErrorCode.NO_TOKEN_IN_USE,
                )
            )
        services.personal_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListView(generics.ListAPIView):
    """The caller's API tokens, newest first, revoked and expired ones too; never a key."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = TokenListSerializer
    filter_backends: list = []

    def get_queryset(self):
        return PersonalToken.objects.filter(user=self.request.user).order_by("-created_at", "-pk")

    @extend_schema(
        operation_id="auth_tokens_list",
        tags=["accounts"],
        summary="My API tokens",
        description="Every token issued to the caller, newest first, with when it was last "
        "used (to the minute) and whether it is revoked; `current` marks the token this request "
        "came with. Keys are never shown again.",
        responses={200: TokenListSerializer(many=True), 401: TOKEN_ERRORS, 403: ErrorSerializer},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class TokenDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="auth_tokens_destroy",
        tags=["accounts"],
        summary="Revoke one of my API tokens",
        description="Revokes the caller's token `id` at once; revoking a revoked "
        "token is accepted (204) and changes nothing. Another person's token is answered 404.",
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="The token's `id`.")
        ],
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked."),
            401: TOKEN_ERRORS,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def delete(self, request, pk: int):
        token = get_object_or_404(PersonalToken, pk=pk, user=request.user)
        services.personal_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
