"""API authentication by personal tokens (``PersonalToken``): ``Authorization: Token <key>``.

The key is looked up by its SHA-256 (``services.personal_token_hash``), so the lookup goes by a
digest the caller cannot steer. An unknown, expired or revoked token, or one whose owner's
account is inactive, is refused with 401 and a code of its own.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from zheliban.core.errors import ErrorCode

from . import services
from .models import PersonalToken


class TokenErrorCode(ErrorCode):
    # Kept beside the class that raises them: accounts/errors.py is the natural home (move them
    # into AccountsErrorCode when that file is next touched).
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (error codes, not secrets)
    TOKEN_INVALID = "token_invalid"  # noqa: S105
    TOKEN_REVOKED = "token_revoked"  # noqa: S105
    NO_TOKEN_IN_USE = "no_token_in_use"  # noqa: S105


class TokenRefused(exceptions.APIException):
    """401 for a token that does not authenticate, with ``WWW-Authenticate: Token``.

    Not DRF's ``AuthenticationFailed``: DRF answers that with 403 whenever the view's first
    authenticator is the session's (it has no ``WWW-Authenticate`` challenge), and a client
    whose token expired must learn it from a 401."""

    status_code = 401
    default_detail = _("The API token is not valid.")
    default_code = TokenErrorCode.TOKEN_INVALID
    auth_header = "Token"


class PersonalTokenAuthentication(TokenAuthentication):
    """DRF's ``Token`` header and keyword (clients keep working), checked against
    ``PersonalToken``. ``request.auth`` is the ``PersonalToken`` the request came with.

    Subclassing ``TokenAuthentication`` keeps the header parsing (and its refusals of a malformed
    header) and drf-spectacular's ``tokenAuth`` security scheme."""

    keyword = "Token"
    model = PersonalToken

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed as refused:  # a malformed Authorization header
            raise TokenRefused(str(refused.detail), code=TokenErrorCode.TOKEN_INVALID) from refused

    def authenticate_credentials(self, key):
        token = (
            PersonalToken.objects.select_related("user")
            .filter(key_hash=services.personal_token_hash(key))
            .first()
        )
        if token is None:
            raise TokenRefused(_("The API token is not valid."), code=TokenErrorCode.TOKEN_INVALID)
        now = timezone.now()
        if token.revoked_at is not None:
            raise TokenRefused(
                _("The API token has been revoked. Ask for a new one."),
                code=TokenErrorCode.TOKEN_REVOKED,
            )
        if token.is_expired(now):
            raise TokenRefused(
                _("The API token has expired. Ask for a new one."),
                code=TokenErrorCode.TOKEN_EXPIRED,
            )
        if not token.user.is_active:
            raise TokenRefused(
                _("The account of this API token is disabled."),
                code=TokenErrorCode.TOKEN_INVALID,
            )
        services.personal_token_touch(token=token, now=now)
        return token.user, token
