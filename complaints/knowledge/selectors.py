"""Reads of the knowledge base and the assistant's log that pages and the API share.

Each runs a fixed number of queries whatever the size of the knowledge base.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse

from ..models import Article, AssistantQuestion, Ticket

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


def question_get_for_asker(*, question_id: int, user, session_ids: list[int]) -> AssistantQuestion:
    """A question its asker may rate: one of this session's, or the signed-in user's own, or one
    asked anonymously (its id is the asker's handle). 404 otherwise."""
    question = AssistantQuestion.objects.filter(pk=question_id).first()
    if question is None:
        raise Http404
    mine = question_id in session_ids or (
        user is not None and user.is_authenticated and question.user_id == user.pk
    )
    if not mine and question.user_id is not None:
        raise Http404
    return question


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
