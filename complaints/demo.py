"""Demo tickets: one at each step of the work-order loop, for 杭州市's desk and departments."""

from __future__ import annotations

import datetime as dt
import io

from django.contrib.auth import get_user_model

from departments.models import Department, Region

from . import services
from .models import Ticket

DEMO_TICKETS = (
    # key, citizen, kind, title, content, region, steps
    (
        "queued",
        "citizen1",
        "suggestion",
        "建议在西溪路增设公共自行车点",
        "西溪路沿线上班的人很多，公共自行车点太少，早晚高峰经常借不到车，建议增设两个站点。",
        "330106",
        (),
    ),
    (
        "dispatched",
        "citizen2",
        "complaint",
        "文三路夜间施工噪音扰民",
        "文三路地铁口附近的工地每天晚上十一点以后还在施工，噪音很大，附近居民无法休息，"
        "请环保部门查处。",
        "330106",
        ("dispatch:shengtai",),
    ),
    (
        "handling",
        "citizen1",
        "complaint",
        "小区物业乱收停车费",
        "我们小区物业未经业主大会同意，把停车费从每月150元涨到300元，业委会不作为，"
        "请住建部门核查。",
        "330106",
        ("dispatch:zhujian", "sign"),
    ),
    (
        "delay",
        "citizen3",
        "complaint",
        "老旧小区加装电梯迟迟不动工",
        "我们小区加装电梯的审批去年就通过了，施工单位一直没有进场，问了几次都说在等管线迁移，"
        "请住建部门督促。",
        "330106",
        ("dispatch:zhujian", "sign", "delay:extension"),
    ),
    (
        "called_back",
        "citizen2",
        "help",
        "公交站台雨棚损坏",
        "古墩路公交站的雨棚被台风吹坏一个多月了，下雨天等车的人只能淋雨，请尽快修复。",
        "330106",
        ("dispatch:jiaotong", "sign", "answer", "callback"),
    ),
    (
        "closed",
        "citizen3",
        "consultation",
        "社保卡补办要多久",
        "我的社保卡丢了，想问补办需要带什么材料，多久能拿到新卡？",
        "330100",
        ("dispatch:renshe", "sign", "answer", "callback", "rate"),
    ),
)


def _user(username: str):
    return get_user_model().objects.filter(username=username).first()


def _model_ready(stdout) -> None:
    """Train the dispatch model once when none exists and the labelled messages are at hand."""
    from django.core.management import call_command

    from .management.commands.train_dispatch import default_data_path

    if services.predictor_get() is not None:
        return
    path = default_data_path()
    if not path.is_file():
        stdout.write(f"Complaints desk: no labelled messages at {path}; tickets wait for a human.")
        return
    stdout.write("Complaints desk: training the dispatch model (a few seconds)…")
    call_command("train_dispatch", data=path, stdout=io.StringIO())


def seed(*, stdout) -> None:
    """Idempotent: a demo ticket is recognised by its ``demo`` attribute."""
    if not Department.objects.filter(code="330100-rexian").exists():
        stdout.write("Complaints desk: no 12345 desk in the demo province; no demo tickets.")
        return
    _model_ready(stdout)
    existing = set(
        Ticket.objects.filter(attributes__has_key="demo").values_list("attributes__demo", flat=True)
    )
    created = 0
    dispatcher = _user("330100-rexian-dispatcher")
    operator = _user("330100-rexian-clerk")
    for key, username, kind, title, content, region_code, steps in DEMO_TICKETS:
        if key in existing:
            continue
        citizen = _user(username)
        ticket = services.ticket_submit(
            kind=kind,
            channel=Ticket.Channel.WEB,
            title=title,
            content=content,
            region=Region.objects.get(code=region_code),
            citizen=citizen,
            attributes={"demo": key},
        )
        for step in steps:
            ticket.refresh_from_db()
            action, _sep, kind_code = step.partition(":")
            if action == "dispatch":
                if ticket.state == Ticket.State.QUEUED:  # the model was not sure enough
                    services.ticket_transition(
                        actor=dispatcher,
                        ticket=ticket,
                        action="dispatch",
                        department=services.nearest_department(kind_code, ticket.region),
                    )
                continue
            lead = _user(f"{ticket.department.code}-clerk")
            if action == "sign":
                services.ticket_transition(actor=lead, ticket=ticket, action="sign")
            elif action == "answer":
                services.ticket_transition(
                    actor=lead,
                    ticket=ticket,
                    action="answer",
                    note="您好，已安排人员现场核查并处理，感谢您的监督。",
                )
            elif action == "delay":  # the lead asks the desk for 10 more days
                services.ticket_transition(
                    actor=lead,
                    ticket=ticket,
                    action="delay",
                    note="管线迁移需燃气公司配合，已发函，等待其排期。",
                    data={
                        "kind": kind_code,
                        "until": ticket.node_due_date + dt.timedelta(days=10),
                    },
                )
            elif action == "callback":
                services.ticket_transition(
                    actor=operator, ticket=ticket, action="callback", note="市民确认已处理。"
                )
            elif action == "rate":
                services.ticket_transition(
                    actor=citizen, ticket=ticket, action="rate", satisfaction=5
                )
        created += 1
    stdout.write(f"Complaints desk: {created} new demo tickets.")


def login_help() -> list[str]:
    return [
        "Complaints desk (12345) staff log in as 330100-rexian-dispatcher, -clerk, -supervisor;"
        " a request for 延期 waits for them at /staff/tickets/?view=delays."
    ]
