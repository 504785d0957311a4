"""Reads of the knowledge base and the assistant's log that pages and the API share.

Each runs a fixed number of queries whatever the size of the knowledge base.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from departments.models import Region
from departments.scoping import member_department_ids

from ..models import Article, AssistantQuestion, Ticket
from ..selectors import tickets_for_staff

CONVERSATION_MAX = 20  # questions of a session shown (and kept) on the assistant's page


def validity_state(article: Article, day: dt.date) -> str:
    """ "valid", "expired" (past ``valid_until``) or "not_yet" (before ``valid_from``)."""
    if article.valid_until is not None and article.valid_until < day:
        return "expired"
    if article.valid_from is not None and day < article.valid_from:
        return "not_yet"
    return "valid"


def article_get_public(*, code: str) -> Article:
    """An active article with its owner, the province article it overrides and the local
    articles overriding it (2 queries); 404 otherwise."""
    qs = (
        Article.objects.filter(is_active=True)
        .select_related("region", "department", "department__region", "overrides")
        .prefetch_related(
            Prefetch(
                "overridden_by",
                queryset=Article.objects.filter(is_active=True)
                .select_related("region", "department")
                .order_by("scope", "code"),
                to_attr="local_overrides",
            )
        )
    )
    return get_object_or_404(qs, code=code)


def article_list_public(*, scope: str = "") -> QuerySet[Article]:
    """Active articles, each with its owner, what it overrides and how many override it."""
    qs = (
        Article.objects.filter(is_active=True)
        .select_related("region", "department", "overrides")
        .annotate(override_count=Count("overridden_by", filter=Q(overridden_by__is_active=True)))
        .defer("answer")
        .order_by("scope", "code")
    )
    if scope in Article.Scope.values:
        qs = qs.filter(scope=scope)
    return qs


def conversation_list(*, ids: list[int]) -> list[AssistantQuestion]:
    """The session's questions, oldest first (1 query)."""
    if not ids:
        return []
    return list(
        AssistantQuestion.objects.filter(pk__in=ids[-CONVERSATION_MAX:])
        .defer("normalized")
        .order_by("asked_at", "id")
    )


def session_fingerprint(session_key: str | None) -> str:
    """What a question keeps of the anonymous session that asked it: a keyed hash of the session
    key or the API's asker token (64 hex digits), never the key itself; empty without one."""
    if not session_key:
        return ""
    return salted_hmac("complaints.assistant.asker", session_key, algorithm="sha256").hexdigest()


def question_get_for_asker(
    *, question_id: int, user, asker_keys: list[str | None], session_ids: list[int]
) -> AssistantQuestion:
    """A question the caller asked, so may say whether the answer helped: the signed-in user's
    own, or — asked without an account — one asked with one of ``asker_keys`` (the session or
    the API's asker cookie that asked it) or held by this session's conversation. Anyone else
    gets 404, exactly as for a question that does not exist."""
    question = AssistantQuestion.objects.filter(pk=question_id).first()
    if question is not None and _asked_by(
        question, user=user, asker_keys=asker_keys, session_ids=session_ids
    ):
        return question
    raise Http404(
        _(
            "No question of yours has this number: only the person who asked may say whether "
            "the answer helped."
        )
    )


def _asked_by(question: AssistantQuestion, *, user, asker_keys, session_ids) -> bool:
    if question.user_id is not None:  # asked with an account: that account only
        return user is not None and user.is_authenticated and question.user_id == user.pk
    if question.pk in session_ids:  # this session's conversation (kept across a login)
        return True
    if not question.asker_session:
        return False
    fingerprints = [session_fingerprint(key) for key in asker_keys if key]
    return any(constant_time_compare(f, question.asker_session) for f in fingerprints)


# ---------------------------------------------------------------- the log, for staff


def _region_prefix(region: Region) -> str:
    """The code prefix of a region and the regions under it (330000 → 33, 330100 → 3301)."""
    if region.level == Region.Level.PROVINCE:
        return region.code[:2]
    if region.level == Region.Level.CITY:
        return region.code[:4]
    return region.code


def question_asker_visible(question: AssistantQuestion, *, desk: bool) -> bool:
    """Who asked is shown to the desk only, and never next to a report (举报) the question
    became: the asker of a question that became a ticket is its sender, and a report's sender
    is learned only through the logged ``reporter_reveal``."""
    return desk and not (question.ticket_id is not None and question.ticket.hides_reporter)


def _asker_visible(*, desk: bool):
    """``question_asker_visible`` as an annotation."""
    if not desk:
        return Value(False)
    return Case(
        When(ticket__kind=Ticket.Kind.REPORT, then=Value(False)),
        default=Value(True),
        output_field=BooleanField(),
    )


def questions_for_staff(user, *, desk: bool) -> QuerySet[AssistantQuestion]:
    """The assistant's log as a member of staff may read it: the desk (12345) and superusers all
    of it; any other member of staff the questions asked for the regions of their departments
    (each region and the regions under it); anyone else nothing. Each row says whether its
    asker may be shown (``asker_visible``) and whether the viewer may open the ticket it became
    (``ticket_reachable``). Two queries: the viewer's regions, then the rows."""
    qs = AssistantQuestion.objects.select_related("ticket", "user", "region")
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    if desk:
        return qs.annotate(ticket_reachable=Value(True), asker_visible=_asker_visible(desk=True))
    regions = Region.objects.filter(departments__in=member_department_ids(user)).distinct()
    prefixes = {_region_prefix(region) for region in regions.only("code", "level")}
    if not prefixes:
        return qs.none()
    where = Q()
    for prefix in sorted(prefixes):
        where |= Q(region__code__startswith=prefix)
    reachable = tickets_for_staff(user).filter(pk=OuterRef("ticket_id"))
    return qs.filter(where).annotate(
        ticket_reachable=Exists(reachable), asker_visible=_asker_visible(desk=False)
    )


def question_get(*, question_id: int) -> AssistantQuestion:
    return get_object_or_404(AssistantQuestion, pk=question_id)


def ticket_url(question: AssistantQuestion) -> str | None:
    """The new-ticket form prefilled with an unanswered question; None for an answered one."""
    if question.answered:
        return None
    try:
        base = reverse("complaints:ticket-new")
    except NoReverseMatch:  # the ticket pages are not installed
        return None
    query = urlencode(
        {"kind": Ticket.Kind.CONSULTATION, "content": question.question, "question": question.pk}
    )
    return f"{base}?{query}"
