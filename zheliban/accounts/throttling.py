"""Login throttling through django-axes' hooks: failed logins count against the account a login
name names (however it is spelled) and against the address they come from.

``AXES_USERNAME_CALLABLE`` turns the typed name into the account's counter key with the same
lookup the login backend uses; ``AXES_HANDLER`` applies two limits, the account's and the
address's; ``AXES_LOCKOUT_CALLABLE`` words the lockout. See the AXES section of the settings.
"""

from __future__ import annotations

import math

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q, Sum
from django.shortcuts import render
from django.utils.translation import ngettext

from . import selectors

_MEMO = "_login_counter_keys"


def login_counter_key(request, credentials: dict | None) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the counter this attempt's login name counts against (one
    lookup per name and request)."""
    login = (credentials or {}).get("username")
    if login is None and request is not None:
        data = request.data if hasattr(request, "data") else request.POST
        login = data.get("username")
    if not login:
        return None
    login = str(login)
    memo = getattr(request, _MEMO, None)
    if memo is None:
        memo = {}
        if request is not None:
            setattr(request, _MEMO, memo)
    if login not in memo:
        memo[login] = selectors.login_counter_key(login=login)
    return memo[login]


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler with two limits over the cool-off window: the account's
    (``AXES_FAILURE_LIMIT``, from any address) and the address's (``AXES_ADDRESS_FAILURE_LIMIT``,
    with any names)."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        """The failures that count against this attempt, on the account limit's scale: the
        account's own, or the account limit itself once the address has reached its limit
        (axes compares this one number with ``AXES_FAILURE_LIMIT``)."""
        account = get_client_username(request, credentials)
        address = request.axes_ip_address
        totals = AccessAttempt.objects.filter(
            Q(username=account) | Q(ip_address=address),
            attempt_time__gte=get_cool_off_threshold(request),
        ).aggregate(
            account=Sum("failures_since_start", filter=Q(username=account)),
            address=Sum("failures_since_start", filter=Q(ip_address=address)),
        )
        failures = totals["account"] or 0
        if (totals["address"] or 0) >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            return max(failures, get_failure_limit(request, credentials))
        return failures

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        """After a successful login, clear the account's failures from every address; the
        address keeps the failures made there with other names."""
        account = get_client_username(request, credentials)
        count, _deleted = AccessAttempt.objects.filter(username=account).delete()
        return count


def login_succeeded(*, user) -> None:
    """A login outside Django's session login (the API token) clears the account's failures,
    as ``AXES_RESET_ON_SUCCESS`` makes a session login do (an account's key is its user name)."""
    if settings.AXES_RESET_ON_SUCCESS:
        AxesProxyHandler.reset_attempts(username=user.get_username())


def lockout_minutes(request) -> int:
    return max(1, math.ceil(get_cool_off(request).total_seconds() / 60))


def lockout_message(request) -> str:
    """What a locked-out login is told, on the page and by the API alike."""
    minutes = lockout_minutes(request)
    return ngettext(
        "Too many failed logins for this account or from this network. Logging in is paused "
        "for %(minutes)d minute; please try again later.",
        "Too many failed logins for this account or from this network. Logging in is paused "
        "for %(minutes)d minutes; please try again later.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request, original_response, credentials):
    """``AXES_LOCKOUT_CALLABLE``: the page a locked-out web or admin login gets instead."""
    return render(
        request, "accounts/locked_out.html", {"message": lockout_message(request)}, status=429
    )
