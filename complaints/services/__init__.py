"""The complaints desk's writes: taking a ticket in, dispatching it, and the work-order loop.

``ticket_transition`` is the one chokepoint of the loop (受理 → 派单 → 签收/退单 → 办理 → 答复 →
回访 → 满意度 → 办结): it locks the ticket, checks the source state and the page's version again,
moves the ticket and the department's part, sets the next step's deadline in working days, writes
the history row and tells the citizen, all in one transaction.
"""

from .callback import RATING_LINK_DAYS, rate_by_link, rating_link_open, rating_url
from .common import (
    CONTENT_MAX_CHARS,
    DEFAULT_DEADLINES,
    MAX_ATTACHMENTS,
    PHOTO_TYPES,
    SATISFIED_FROM,
    TICKET_UPLOAD_TYPES,
    TITLE_MAX_CHARS,
    P,
    S,
    TicketInvalid,
    step_workdays,
)
from .desk import article_source
from .dispatch import (
    Suggestion,
    _predictor_cache,
    dispatch_rules,
    dispatch_suggest,
    nearest_department,
    predictor_get,
)
from .intake import (
    PHONE_RE,
    CheckedFile,
    attachments_check,
    ticket_submit,
    ticket_submit_once,
    ticket_title,
    ticket_validate,
)
from .loop import (
    ACTIONS,
    move_data,
    reporter_reveal,
    suspensions_end,
    ticket_transition,
    tickets_merge,
)
from .sweep import returned_examples, tickets_sweep

__all__ = [
    "ACTIONS",
    "CONTENT_MAX_CHARS",
    "DEFAULT_DEADLINES",
    "MAX_ATTACHMENTS",
    "PHONE_RE",
    "PHOTO_TYPES",
    "RATING_LINK_DAYS",
    "SATISFIED_FROM",
    "TICKET_UPLOAD_TYPES",
    "TITLE_MAX_CHARS",
    "CheckedFile",
    "P",
    "S",
    "Suggestion",
    "TicketInvalid",
    "_predictor_cache",
    "article_source",
    "attachments_check",
    "dispatch_rules",
    "dispatch_suggest",
    "move_data",
    "nearest_department",
    "predictor_get",
    "rate_by_link",
    "rating_link_open",
    "rating_url",
    "reporter_reveal",
    "returned_examples",
    "step_workdays",
    "suspensions_end",
    "ticket_submit",
    "ticket_submit_once",
    "ticket_title",
    "ticket_transition",
    "ticket_validate",
    "tickets_merge",
    "tickets_sweep",
]
