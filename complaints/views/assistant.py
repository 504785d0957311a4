"""The assistant's chat page and the knowledge base's public pages.

The chat works without JavaScript: a question is POSTed, recorded, added to the session's
conversation and the page is shown again (POST/redirect/GET); each answer has buttons to say
whether it helped and, for staff, a form to flag it as wrong.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from departments.models import Region

from ..knowledge import selectors, services
from ..models import Article

SESSION_KEY = "assistant_questions"
PAGE_SIZE = 20


def session_ids(request: HttpRequest) -> list[int]:
    value = request.session.get(SESSION_KEY, [])
    return [int(v) for v in value if isinstance(v, int)]


ASKER_COOKIE = "zheliban_asker"
ASKER_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def asker_session_key(request: HttpRequest) -> str:
    """The key of the session asking without an account, made now if it has none yet, so that
    the question remembers which session may say whether the answer helped. Empty for a
    signed-in user, whose account is remembered instead."""
    if request.user.is_authenticated:
        return ""
    if request.session.session_key is None:
        request.session.save()
    return request.session.session_key or ""


def asker_key(request: HttpRequest) -> tuple[str, bool]:
    """Who asks through the API without an account, and whether the key is new: the session
    they already have, else the random token of their asker cookie, made now if they have none
    (``asker_cookie_set`` sends it). A client without cookies so costs no session row per
    question. Empty for a signed-in user, whose account is remembered instead."""
    if request.user.is_authenticated:
        return "", False
    if request.session.session_key is not None:
        return request.session.session_key, False
    token = request.COOKIES.get(ASKER_COOKIE, "")
    if ASKER_TOKEN.fullmatch(token):
        return token, False
    return secrets.token_urlsafe(24), True


def asker_cookie_set(response: HttpResponse, token: str) -> HttpResponse:
    """Send a new asker token as the asker cookie."""
    response.set_cookie(
        ASKER_COOKIE,
        token,
        max_age=settings.SESSION_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def question_of_asker(request: HttpRequest, pk: int):
    """The question ``pk`` if the caller asked it (their account, their session or their asker
    cookie), else 404."""
    return selectors.question_get_for_asker(
        question_id=pk,
        user=request.user,
        asker_keys=[request.session.session_key, request.COOKIES.get(ASKER_COOKIE)],
        session_ids=session_ids(request),
    )


def _page(
    request: HttpRequest,
    *,
    error: str = "",
    question: str = "",
    refusal: str = "",
    status: int = 200,
):
    conversation = selectors.conversation_list(ids=session_ids(request))
    for entry in conversation:
        entry.ticket_url = selectors.ticket_url(entry)
    context = {
        "conversation": conversation,
        "error": error,
        "refusal": refusal,
        "question": question,
        "region": request.POST.get("region", "") or request.GET.get("region", ""),
        "regions": Region.objects.only("code", "name", "level").order_by("code"),
        "max_length": services.QUESTION_MAX,
    }
    return render(request, "complaints/assistant.html", context, status=status)


@require_http_methods(["GET", "POST"])
def assistant(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    try:
        record = services.assistant_ask(
            question=request.POST.get("q"),
            region_code=request.POST.get("region"),
            user=request.user,
            session_key=asker_session_key(request),
        )
    except ValidationError as error:
        return _page(
            request, error=error.messages[0], question=request.POST.get("q", ""), status=400
        )
    ids = [*session_ids(request), record.pk][-selectors.CONVERSATION_MAX :]
    request.session[SESSION_KEY] = ids
    return redirect(f"{reverse('complaints:assistant')}#q-{record.pk}")


@require_POST
def question_helpful(request: HttpRequest, pk: int) -> HttpResponse:
    """Only whoever asked (their account or their session) may answer; anyone else is told so
    with a 404, as for a question that does not exist, and nothing changes."""
    try:
        question = question_of_asker(request, pk)
    except Http404 as refused:
        return _page(request, refusal=str(refused), status=404)
    services.question_helpful_set(question=question, helpful=request.POST.get("helpful") == "yes")
    messages.success(request, _("Thank you: your answer was recorded."))
    return redirect(f"{reverse('complaints:assistant')}#q-{pk}")


@require_POST
def question_flag(request: HttpRequest, pk: int) -> HttpResponse:
    question = selectors.question_get(question_id=pk)
    services.question_flag(question=question, actor=request.user, note=request.POST.get("note", ""))
    messages.success(request, _("The answer was flagged as wrong."))
    return redirect(f"{reverse('complaints:assistant')}#q-{pk}")


def knowledge(request: HttpRequest) -> HttpResponse:
    scope = request.GET.get("scope", "")
    paginator = Paginator(selectors.article_list_public(scope=scope), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    today = timezone.localdate()
    for entry in page.object_list:
        entry.state = selectors.validity_state(entry, today)
    return render(
        request,
        "complaints/knowledge.html",
        {"page": page, "scope": scope, "scopes": Article.Scope.choices},
    )


def article(request: HttpRequest, code: str) -> HttpResponse:
    found = selectors.article_get_public(code=code)
    found.state = selectors.validity_state(found, timezone.localdate())
    return render(request, "complaints/article.html", {"article": found})


urlpatterns = [
    path("assistant/", assistant, name="assistant"),
    path("assistant/<int:pk>/helpful/", question_helpful, name="assistant-helpful"),
    path("assistant/<int:pk>/flag/", question_flag, name="assistant-flag"),
    path("knowledge/", knowledge, name="knowledge"),
    path("knowledge/<slug:code>/", article, name="article"),
]
