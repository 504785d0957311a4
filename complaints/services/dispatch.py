"""Dispatch: which department a ticket goes to, decided by ``complaints.dispatch.decision``."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from departments.models import Department, Region

from ..dispatch.decision import MAX_TEXT_CHARS, dispatch_decide
from ..dispatch.departments import departments_nearest
from ..dispatch.rules import dispatch_rules
from ..dispatch.text import ticket_text
from ..models import Ticket

_predictor_lock = threading.Lock()
_predictor_cache: dict[str, Any] = {}


def predictor_get():
    """The newest dispatch model, loaded once per process (None when none was trained).

    The model folder is listed again only when its modification time changes (a model added or
    removed), so a submission costs one ``stat``, not a directory listing. The desk reads its
    rules afresh for each ticket, so the model is loaded without any."""
    from ..dispatch.model import DispatchModelError, latest_model_path, model_dir
    from ..dispatch.predictor import Predictor

    directory = model_dir()
    try:
        version = (str(directory), os.stat(directory).st_mtime_ns)
    except OSError:
        return None
    with _predictor_lock:
        cached = _predictor_cache.get("model")
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            path = latest_model_path(directory)
        except DispatchModelError:
            predictor = None
        else:
            known = _predictor_cache.get("loaded")
            predictor = known[1] if known and known[0] == path else Predictor.load(path, rules=[])
            _predictor_cache["loaded"] = (path, predictor)
        _predictor_cache["model"] = (version, predictor)
        return predictor


@dataclass(frozen=True)
class Suggestion:
    department: Department | None
    category: str
    confidence: float
    reasons: tuple[str, ...]
    automatic: bool
    model_version: str = ""


def nearest_department(kind: str, region: Region | None) -> Department | None:
    """The active department of ``kind`` nearest to ``region`` (``departments_nearest``)."""
    return departments_nearest(kinds=[kind], region_code=region.code if region else None).get(kind)


def dispatch_suggest(ticket: Ticket) -> Suggestion:
    """Where the ticket should go, how sure we are and why (``dispatch_decide``: the
    application it is about, a rule, or the model with the ticket's region)."""
    text = ticket_text(ticket.title, ticket.content)[:MAX_TEXT_CHARS]
    (decision,) = dispatch_decide(
        [text],
        region_code=ticket.region.code if ticket.region else None,
        rules=dispatch_rules(),
        guesser=predictor_get(),
        applications=[ticket.application if ticket.application_id else None],
    )
    return Suggestion(
        decision.department,
        decision.category or "",
        round(decision.confidence, 4),
        decision.reasons,
        decision.automatic,
        decision.model_version,
    )
