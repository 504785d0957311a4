"""Every write of the workflows app, by topic.

Two state machines live here, each moved by one chokepoint: ``task_transition`` for a department's
task and ``_application_move`` (called only by the chokepoints) for the case as a whole. Each
move locks the application row and then the task row, checks the source state again, writes a
history row and exactly one notice in the same transaction, and records side effects in the outbox.
"""

from .applications import (
    application_create_and_submit,
    application_save_draft,
    application_start,
    application_submit,
)
from .audit import staff_search_record
from .common import OUTPUT_NAMES, A, S
from .deadlines import deadlines_sweep
from .definitions import (
    definition_activate,
    definition_check_write,
    definition_decide,
    definition_parse,
    definition_save,
    item_default_text,
    missing_grants,
    workflow_for,
)
from .ratings import rating_follow_up, rating_submit, rectification_transition
from .sharing import VerifyAnswer, data_read, data_verify
from .supervision import (
    may_issue_supervision,
    may_reply,
    supervision_issue,
    supervision_reply,
    supervision_visible,
    supervisions_escalate,
)
from .tasks import (
    ACTIONS,
    correction_resubmit,
    extension_decide,
    extension_may_decide,
    extension_request,
    procedure_end,
    procedure_start,
    task_mark_delivered,
    task_reveal_record,
    task_transition,
)

__all__ = [
    "ACTIONS",
    "OUTPUT_NAMES",
    "A",
    "S",
    "VerifyAnswer",
    "application_create_and_submit",
    "application_save_draft",
    "application_start",
    "application_submit",
    "correction_resubmit",
    "data_read",
    "data_verify",
    "deadlines_sweep",
    "definition_activate",
    "definition_check_write",
    "definition_decide",
    "definition_parse",
    "definition_save",
    "extension_decide",
    "extension_may_decide",
    "extension_request",
    "item_default_text",
    "may_issue_supervision",
    "may_reply",
    "missing_grants",
    "procedure_end",
    "procedure_start",
    "rating_follow_up",
    "rating_submit",
    "rectification_transition",
    "staff_search_record",
    "supervision_issue",
    "supervision_reply",
    "supervision_visible",
    "supervisions_escalate",
    "task_mark_delivered",
    "task_reveal_record",
    "task_transition",
    "workflow_for",
]
