"""好差评: ratings of finished cases and the rectification of bad ones."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.selectors import item_ratings_generation
from departments.models import Membership
from departments.selectors import can_work_on, staff_of
from workflows.errors import WorkflowsErrorCode
from zheliban.core.errors import Conflict, Refused
from zheliban.core.generation import generation_bump
from zheliban.core.notices import notify
from zheliban.core.workdays import add_workdays

from ..models import (
    RECTIFICATION_MACHINE,
    STAFF,
    Application,
    Rating,
    Rectification,
    Task,
    TaskEvent,
)
from .common import S, _about

# ---------------------------------------------------------------- ratings


@transaction.atomic
def rating_submit(*, applicant, application: Application, score: int, comment: str = "") -> Rating:
    app = Application.objects.select_for_update().get(pk=application.pk)
    if app.applicant_id != applicant.pk:
        raise Refused(_("This is not your application."), code=WorkflowsErrorCode.NOT_OWNER)
    if app.status not in Application.FINISHED_STATUSES:
        raise Refused(
            _("You can rate a case once it is finished."), code=WorkflowsErrorCode.NOT_FINISHED
        )
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise Refused(_("Choose a rating from 1 to 5."), code=WorkflowsErrorCode.BAD_SCORE)
    if Rating.objects.filter(application=app).exists():
        raise Conflict(
            _("You have rated this case already; you may add one follow-up review."),
            code=WorkflowsErrorCode.RATED,
        )
    rating = Rating.objects.create(application=app, score=score, comment=comment.strip()[:2000])
    TaskEvent.objects.create(application=app, action="rate", actor=applicant, note=str(score))
    # the guides of the case's items show the new rating once this commits
    codes = (
        Task.objects.filter(application=app, item__isnull=False)
        .order_by()
        .values_list("item__code", flat=True)
        .distinct()
    )
    for code in codes:
        generation_bump(item_ratings_generation(code))
    if rating.is_bad:
        today = timezone.localdate()
        callback, fix = add_workdays(today, 1).date, add_workdays(today, 15).date
        # ``order_by()`` drops Task's default ordering (application, id): its columns would join
        # the DISTINCT and count a department with two steps twice.
        depts = (
            Task.objects.filter(application=app, state__in=[S.COMPLETED, S.REJECTED])
            .order_by()
            .values_list("department_id", flat=True)
            .distinct()
        )
        for dept_id in depts:
            Rectification.objects.create(
                rating=rating, department_id=dept_id, callback_due=callback, fix_due=fix
            )
            for user in staff_of(dept_id, Membership.Role.SUPERVISOR):
                notify(
                    user,
                    subject=_("Bad rating to rectify: %(ref)s") % {"ref": app.reference},
                    body=_("Call the citizen back by %(callback)s and fix the problem by %(fix)s.")
                    % {"callback": callback, "fix": fix},
                )
    return rating


@transaction.atomic
def rating_follow_up(*, applicant, application: Application, text: str) -> Rating:
    rating = Rating.objects.select_for_update().filter(application=application).first()
    if rating is None or application.applicant_id != applicant.pk:
        raise Refused(_("Rate the case first."), code=WorkflowsErrorCode.NOT_RATED)
    if rating.follow_up_at is not None:
        raise Conflict(
            _("You have already added your follow-up review."), code=WorkflowsErrorCode.FOLLOWED_UP
        )
    text = text.strip()
    if not text:
        raise Refused(_("Write your follow-up review."), code=WorkflowsErrorCode.EMPTY)
    rating.follow_up = text[:2000]
    rating.follow_up_at = timezone.now()
    rating.save(update_fields=["follow_up", "follow_up_at", "updated_at"])
    return rating


@transaction.atomic
def rectification_transition(
    *, actor, rectification_id: int, action: str, note: str
) -> Rectification:
    """The rectification's one chokepoint: a move ``RECTIFICATION_MACHINE`` lists, by staff of
    its department, with a note of what was done."""
    rect = (
        Rectification.objects.select_for_update(of=("self",))
        .select_related("rating__application")
        .get(pk=rectification_id)
    )
    if not can_work_on(actor, rect.department_id):
        raise Refused(
            _("No such rectification in your department."), code=WorkflowsErrorCode.NOT_FOUND
        )
    note = note.strip()
    if not note:
        raise Refused(_("Write what was done."), code=WorkflowsErrorCode.EMPTY)
    target = RECTIFICATION_MACHINE.target(rect.state, action, who=STAFF)
    now = timezone.now()
    if action == "callback":
        rect.callback_note, rect.called_back_at = note, now
    else:
        rect.outcome, rect.fixed_at = note, now
        app = rect.rating.application
        notify(
            app.applicant,
            **_about(app),
            subject=_("%(ref)s: what we changed after your rating") % {"ref": app.reference},
            body=note,
        )
    rect.state = target
    rect.save()
    return rect
