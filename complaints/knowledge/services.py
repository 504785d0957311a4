"""Every write of the knowledge base and the assistant.

- ``assistant_ask``: answer a question from the knowledge (pinned answer first, then an item
  intent, then the best articles and items) and record it, with what was cited;
- ``question_helpful_set`` (the asker), ``question_flag`` (staff only), ``answer_pin`` (staff);
- ``article_save`` / ``article_delete`` (admin), and the knowledge generation bump with them.

Errors are ``ValidationError`` / ``PermissionDenied`` with the codes of ``ERRORS``; nothing is
written when one is raised.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from catalog.models import ServiceItem
from departments.models import Region, region_code_validator

from ..models import Article, AssistantQuestion, PinnedAnswer
from . import generation, intents
from .index import Hit, KnowledgeIndex, current_index
from .selectors import session_fingerprint
from .text import passage, question_key

QUESTION_MAX = 500
PASSAGE_CHARS = 600  # of the answering article, shown as the answer
SOURCE_CHARS = 200  # of each further source
MAX_SOURCES = 3
# A further source is cited when it is nearly as close as the best one.
RELATED_RATIO = 0.8
DEFAULT_THRESHOLD = 0.4

# Error codes of this module, in one place.
QUESTION_EMPTY = "question_empty"
QUESTION_TOO_LONG = "question_too_long"
REGION_INVALID = "region_invalid"
REGION_UNKNOWN = "region_unknown"
NOT_STAFF = "not_staff"
PIN_SOURCE = "pin_one_source"


def threshold() -> float:
    """``settings.ASSISTANT_THRESHOLD``: below it the assistant says it does not know."""
    return float(getattr(settings, "ASSISTANT_THRESHOLD", DEFAULT_THRESHOLD))


def question_clean(value: str | None) -> str:
    """The question as asked, stripped; refuses an empty or over-long one."""
    text = (value or "").strip()
    if not text:
        raise ValidationError(_("Ask a question."), code=QUESTION_EMPTY)
    if len(text) > QUESTION_MAX:
        raise ValidationError(
            _("Keep the question to %(max)d characters (it has %(count)d).")
            % {"max": QUESTION_MAX, "count": len(text)},
            code=QUESTION_TOO_LONG,
        )
    return text


def region_resolve(code: str | None) -> Region | None:
    """The region of a code, six digits or nine for a street (1 query), None without one."""
    code = (code or "").strip()
    if not code:
        return None
    try:
        region_code_validator(code)
    except ValidationError as error:
        raise ValidationError(
            _("A region code has six digits, or nine for a street, town or township."),
            code=REGION_INVALID,
        ) from error
    region = Region.objects.filter(code=code).only("id", "code").first()
    if region is None:
        raise ValidationError(
            _("No region has the code %(code)s.") % {"code": code}, code=REGION_UNKNOWN
        )
    return region


@dataclass(frozen=True)
class Reply:
    answer: str | None
    confidence: float
    answered: bool
    sources: list[dict]


def _article_source(hit: Hit, chars: int) -> dict:
    doc = hit.doc
    source = {
        "type": "article",
        "code": doc.code,
        "title": doc.title,
        "passage": passage(doc.text, chars),
        "url": _article_url(doc.code),
    }
    if hit.overrides is not None:
        source["overrides"] = hit.overrides.code
    return source


def _article_url(code: str) -> str:
    from django.urls import reverse

    return reverse("complaints:article", kwargs={"code": code})


def _item_source(item: ServiceItem, text: str) -> dict:
    return {
        "type": "item",
        "code": item.code,
        "title": item.name,
        "passage": text,
        "url": item.get_absolute_url(),
    }


def _item_reply(item_id: int, intent: str, confidence: float) -> Reply | None:
    item, materials, locations = intents.item_load(item_id, intent)
    text = intents.compose(intent, item, materials=materials, locations=locations)
    if not text:
        return None
    return Reply(
        answer=text,
        confidence=confidence,
        answered=True,
        sources=[_item_source(item, text)],
    )


def _pinned_reply(pin: PinnedAnswer, question: str, day: dt.date) -> Reply | None:
    if pin.article_id is not None:
        article = pin.article
        valid = (
            article.is_active
            and (article.valid_from is None or article.valid_from <= day)
            and (article.valid_until is None or day <= article.valid_until)
        )
        if not valid:  # an expired or withdrawn article is never used, pinned or not
            return None
        text = passage(article.answer, PASSAGE_CHARS)
        source = {
            "type": "article",
            "code": article.code,
            "title": article.question,
            "passage": text,
            "url": article.get_absolute_url(),
            "pinned": True,
        }
        return Reply(answer=text, confidence=1.0, answered=True, sources=[source])
    reply = _item_reply(pin.item_id, intents.detect(question) or intents.OVERVIEW, 1.0)
    if reply is not None:
        reply.sources[0]["pinned"] = True
    return reply


def assistant_reply(*, question: str, key: str, region: Region | None) -> Reply:
    """What the assistant answers (no write): a pinned answer, else an item's guide for a
    question about an item, else the closest articles and items above the threshold.

    The pins are read once per index (every pin written or deleted bumps the knowledge
    generation); the rest is computed from the index, the catalog and the articles it was built
    from, so it is kept with the index (``KnowledgeIndex.remember``) for the question, region,
    day, threshold and language, and given again as a copy."""
    day = timezone.localdate()
    index = current_index()
    pins = index.remember(("pins",), _pins_load)
    pin = pins.get(key[: PinnedAnswer._meta.get_field("normalized").max_length])
    if pin is not None and (reply := _pinned_reply(pin, question, day)) is not None:
        return reply

    limit = threshold()
    region_code = region.code if region else None
    reply = index.remember(
        ("reply", question, region_code, day, limit, get_language()),
        lambda: _index_reply(index, question, region_code, day, limit),
    )
    return copy.deepcopy(reply)


def _pins_load() -> dict[str, PinnedAnswer]:
    """Every pinned answer by the question it answers, with its article."""
    return {pin.normalized: pin for pin in PinnedAnswer.objects.select_related("article")}


def _index_reply(
    index: KnowledgeIndex, question: str, region_code: str | None, day: dt.date, limit: float
) -> Reply:
    """An item's guide for a question about an item, else the closest articles and items above
    ``limit``."""
    intent = intents.detect(question)
    if intent is not None:
        words = intents.item_words(question)
        found = index.find_item(words, region_code=region_code) if words else None
        if found is not None and found.score >= limit:
            reply = _item_reply(found.doc.id, intent, round(found.score, 3))
            if reply is not None:
                return reply

    hits = index.search(question, region_code=region_code, day=day, limit=MAX_SOURCES)
    confidence = round(hits[0].score, 3) if hits else 0.0
    if not hits or hits[0].score < limit:
        return Reply(answer=None, confidence=confidence, answered=False, sources=[])
    best = hits[0]
    cited = [best] + [
        h for h in hits[1:] if h.score >= limit and h.score >= RELATED_RATIO * best.score
    ]
    if best.doc.kind == "item":
        reply = _item_reply(best.doc.id, intents.OVERVIEW, confidence)
        if reply is None:  # pragma: no cover - an overview always says the time limits
            return Reply(answer=None, confidence=confidence, answered=False, sources=[])
        sources, answer = reply.sources, reply.answer
    else:
        first = _article_source(best, PASSAGE_CHARS)
        sources, answer = [first], first["passage"]
    for hit in cited[1:]:
        if hit.doc.kind == "article":
            sources.append(_article_source(hit, SOURCE_CHARS))
        else:
            sources.append(
                {
                    "type": "item",
                    "code": hit.doc.code,
                    "title": hit.doc.title,
                    "passage": passage(hit.doc.text, SOURCE_CHARS) or hit.doc.title,
                    "url": _item_url(hit.doc.code),
                }
            )
    return Reply(answer=answer, confidence=confidence, answered=True, sources=sources)


def _item_url(code: str) -> str:
    from django.urls import reverse

    return reverse("catalog:item", kwargs={"code": code})


def assistant_ask(
    *,
    question: str | None,
    region_code: str | None = None,
    user=None,
    session_key: str | None = None,
) -> AssistantQuestion:
    """Answer a question and record it (the question, answer, confidence, sources, region and
    asker: the signed-in user, or else a keyed hash of ``session_key``, the session that asked).
    Refuses an empty or over-long question and an unknown region, recording nothing."""
    text = question_clean(question)
    region = region_resolve(region_code)
    key = question_key(text)[:QUESTION_MAX]
    reply = assistant_reply(question=text, key=key, region=region)
    signed_in = user is not None and user.is_authenticated
    return AssistantQuestion.objects.create(
        question=text,
        normalized=key,
        answer=reply.answer or "",
        confidence=reply.confidence,
        answered=reply.answered,
        sources=reply.sources,
        region=region,
        user=user if signed_in else None,
        asker_session="" if signed_in else session_fingerprint(session_key),
    )


def question_helpful_set(*, question: AssistantQuestion, helpful: bool) -> AssistantQuestion:
    """The asker's word on whether the answer helped (the last one counts); the caller found
    the question through ``question_get_for_asker``, which answers 404 to anyone else."""
    AssistantQuestion.objects.filter(pk=question.pk).update(helpful=helpful)
    question.helpful = helpful
    return question


def _require_staff(actor) -> None:
    if actor is None or not actor.is_authenticated or not actor.is_staff:
        raise PermissionDenied(_("Only staff can do this."))


def question_flag(*, question: AssistantQuestion, actor, note: str = "") -> AssistantQuestion:
    """Staff mark an answer as wrong, with a note for whoever curates the knowledge."""
    _require_staff(actor)
    note = (note or "").strip()[: AssistantQuestion._meta.get_field("flag_note").max_length]
    AssistantQuestion.objects.filter(pk=question.pk).update(
        flagged=True, flag_note=note, flagged_by=actor
    )
    question.flagged, question.flag_note, question.flagged_by = True, note, actor
    return question


@transaction.atomic
def answer_pin(
    *,
    question: str,
    actor,
    article: Article | None = None,
    item: ServiceItem | None = None,
) -> PinnedAnswer:
    """Pin an article or an item as the answer to a question (and to every way of writing it
    that normalizes the same); replaces an earlier pin of that question."""
    _require_staff(actor)
    if (article is None) == (item is None):
        raise ValidationError(_("Pin either an article or an item."), code=PIN_SOURCE)
    text = question_clean(question)
    key = question_key(text)[: PinnedAnswer._meta.get_field("normalized").max_length]
    pin, _created = PinnedAnswer.objects.update_or_create(
        normalized=key,
        defaults={
            "question": text[: PinnedAnswer._meta.get_field("question").max_length],
            "article": article,
            "item": item,
            "pinned_by": actor,
        },
    )
    generation.bump()
    return pin


@transaction.atomic
def pins_delete(*, pins, actor) -> int:
    """Unpin answers (a queryset of ``PinnedAnswer``): their questions are answered from the
    index again once the deletion commits."""
    _require_staff(actor)
    deleted, _rows = pins.delete()
    generation.bump()
    return deleted


@transaction.atomic
def article_save(*, article: Article, actor=None) -> Article:
    """Validate and save an article (new or changed); every index is rebuilt after the commit."""
    article.full_clean()
    article.save()
    generation.bump()
    return article


@transaction.atomic
def article_delete(*, article: Article, actor=None) -> None:
    article.delete()
    generation.bump()


def knowledge_changed() -> None:
    """Articles were written in bulk (seeding): rebuild the indexes after the commit."""
    generation.bump()
