"""Two citizens with something in every section of /my/, built through the services."""

from __future__ import annotations

from dataclasses import dataclass, field

from complaints.models import Ticket
from complaints.services import ticket_transition
from tests.workflows.conftest import OUTPUTS
from workflows import services
from workflows.models import Application

# The ID number the hukou step gives: an e-licence value shown masked.
CITIZEN_ID = OUTPUTS["hukou"]["citizen_id_number"]
BIRTH_CERTIFICATE = OUTPUTS["birth_certificate"]["birth_certificate_no"]
OTHER_BIRTH_CERTIFICATE = "Q330100269999"


@dataclass
class Mine:
    """What one citizen holds, by kind."""

    user: object
    applications: dict[str, Application] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)


def submit_for(scenario, user, key: str) -> Application:
    draft = services.application_start(applicant=user, bundle=scenario.bundle)
    app, _created = services.application_submit(
        applicant=user,
        application=draft,
        answers=scenario.answers(mother_id_number=user.id_number),
        idempotency_key=key,
    )
    return app


def complete(scenario, app, step: str) -> None:
    scenario.act(app, step, "claim", "accept", "complete", outputs=OUTPUTS[step])


def answered_and_called_back(desk, ticket: Ticket) -> Ticket:
    """The desk dispatches, the department answers, the desk calls back: the citizen rates."""
    handling = desk.departments["shengtai"]
    clerk = desk.clerks["shengtai"]
    ticket_transition(
        actor=desk.dispatcher, ticket=ticket.pk, action="dispatch", department=handling
    )
    ticket_transition(actor=clerk, ticket=ticket.pk, action="sign")
    ticket_transition(actor=clerk, ticket=ticket.pk, action="answer", note="已责令工地夜间停工。")
    ticket_transition(actor=desk.operator, ticket=ticket.pk, action="callback", note="已回访。")
    return Ticket.objects.get(pk=ticket.pk)


def seed_me(scenario, desk) -> Mine:
    """The scenario's citizen: an older case waiting for a correction, a newer finished one
    (not rated yet, its results held as e-licences, its data read across departments), the
    newest a draft; a ticket waiting for the rating and a newer one waiting for a dispatcher."""
    me = Mine(scenario.citizen)
    correction = submit_for(scenario, me.user, "me-correction")
    scenario.act(correction, "birth_certificate", "claim", "accept")
    scenario.act(
        correction, "birth_certificate", "correction", reason="姓名有误", fields=["baby_name"]
    )
    finished = submit_for(scenario, me.user, "me-finished")
    for step in ("birth_certificate", "hukou", "social_card", "child_insurance"):
        complete(scenario, finished, step)
    draft = services.application_start(applicant=me.user, item=scenario.items["gongan"])
    me.applications = {
        "correction": Application.objects.get(pk=correction.pk),
        "finished": Application.objects.get(pk=finished.pk),
        "draft": draft,
    }
    to_rate = desk.ticket(citizen=me.user, title="夜间施工噪音扰民")
    me.tickets = {
        "to_rate": answered_and_called_back(desk, to_rate),
        "queued": desk.ticket(
            citizen=me.user, title="公交站台破损", content="文三路公交站台顶棚破损，雨天漏水。"
        ),
    }
    return me


def seed_other(scenario, desk) -> Mine:
    """Another citizen with a case whose first step is done (an e-licence, a data read) and a
    ticket of their own."""
    other = Mine(desk.other_citizen)
    app = submit_for(scenario, other.user, "other-1")
    scenario.act(
        app,
        "birth_certificate",
        "claim",
        "accept",
        "complete",
        outputs={"birth_certificate_no": OTHER_BIRTH_CERTIFICATE},
    )
    other.applications = {"in_progress": Application.objects.get(pk=app.pk)}
    other.tickets = {
        "queued": desk.ticket(
            citizen=other.user, title="李四反映的路灯问题", content="学院路路灯不亮已经一周。"
        )
    }
    return other
