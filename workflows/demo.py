"""The demo province's joint handling: data-sharing grants, active workflows for the bundles
(written by the service centre, approved by every department they bind), and cases in every
state, made through the same services staff and citizens use. Idempotent."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.models import Bundle
from departments.models import DataGrant, Department, Membership
from zheliban.core.identity import id_number_check_char

from . import services
from .models import Application, ELicence, WorkflowApproval, WorkflowDefinition

NEWBORN_STEPS = (
    # step, department kind of the item, after, needs, gives, due
    ("birth_certificate", "weijian", (), (), ("birth_certificate_no",), 1),
    (
        "hukou",
        "gongan",
        ("birth_certificate",),
        ("birth_certificate_no",),
        ("citizen_id_number", "hukou_no"),
        3,
    ),
    ("social_card", "renshe", ("hukou",), ("citizen_id_number",), ("social_card_no",), 3),
    ("child_insurance", "yibao", ("hukou",), ("citizen_id_number",), ("insurance_no",), 2),
    ("vaccination", "weijian", ("birth_certificate",), (), ("vaccination_no",), 2),
)

GRANTS = (
    # owner kind, consumer kind, fields, mode, purpose, legal basis
    (
        "weijian",
        "gongan",
        ["birth_certificate_no"],
        "view",
        "新生儿出生登记",
        "《中华人民共和国户口登记条例》第七条",
    ),
    (
        "gongan",
        "renshe",
        ["citizen_id_number", "hukou_no"],
        "view",
        "新生儿社会保障卡申领",
        "《中华人民共和国社会保险法》第五十八条",
    ),
    (
        "gongan",
        "yibao",
        ["citizen_id_number", "hukou_no"],
        "view",
        "新生儿参保登记",
        "《中华人民共和国社会保险法》第二十五条",
    ),
    (
        "gongan",
        "minzheng",
        ["hukou_region"],
        "verify",
        "核验户籍所在地",
        "《最低生活保障审核确认办法》第九条",
    ),
    (
        "gongan",
        "renshe",
        ["hukou_region"],
        "verify",
        "核验户籍所在地",
        "《社会保险经办条例》第十条",
    ),
    (
        "gongan",
        "yibao",
        ["hukou_region"],
        "verify",
        "核验户籍所在地",
        "《医疗保障基金使用监督管理条例》第十五条",
    ),
)

# What the newborn bundle's departments read of the registers at submission, so the parent
# confirms instead of typing: the hospital's birth record, identity cards and the marriage record.
BIRTH_FIELDS = ["baby_gender", "birth_date", "mother_name", "mother_id_number"]
PARENTS = ["father_name", "father_id_number"]
GRANTS += (
    (
        "weijian",
        "gongan",
        [*BIRTH_FIELDS, *PARENTS, "birth_medical_certificate"],
        "view",
        "新生儿出生登记：出生医学信息",
        "《中华人民共和国户口登记条例》第七条",
    ),
    (
        "weijian",
        "renshe",
        ["mother_id_number", "birth_medical_certificate"],
        "view",
        "新生儿社会保障卡申领：出生医学信息",
        "《中华人民共和国社会保险法》第五十八条",
    ),
    (
        "weijian",
        "yibao",
        [*BIRTH_FIELDS, "birth_medical_certificate"],
        "view",
        "新生儿参保登记：出生医学信息",
        "《中华人民共和国社会保险法》第二十五条",
    ),
    (
        "minzheng",
        "gongan",
        ["marriage_certificate"],
        "view",
        "新生儿出生登记：婚姻登记信息",
        "《中华人民共和国户口登记条例》第七条",
    ),
    *(
        (
            "gongan",
            consumer,
            ["id_card", "household_register", "hukou_record"],
            "view",
            "核验申请人身份证件",
            "《中华人民共和国居民身份证法》第十四条",
        )
        for consumer in ("weijian", "renshe", "yibao", "minzheng")
    ),
)

# The district's resident insurance read the population register to enrol a resident.
GRANTS += (
    (
        "gongan",
        "330106-yibao",
        ["hukou_record", "id_card"],
        "view",
        "城乡居民医保参保登记：户籍信息",
        "《中华人民共和国社会保险法》第二十五条",
    ),
    (
        "gongan",
        "330106-renshe",
        ["hukou_record", "id_card"],
        "view",
        "城乡居民养老保险参保登记：户籍信息",
        "《中华人民共和国社会保险法》第二十二条",
    ),
)

REGION = "330100"
FATHER_ID = "33010619870701001" + id_number_check_char("33010619870701001")


def _dept(kind: str) -> Department:
    """A department of the city by its kind, or any by its full code."""
    return Department.objects.get(code=kind if "-" in kind else f"{REGION}-{kind}")


def newborn_text(bundle: Bundle) -> str:
    parts = list(bundle.parts.select_related("item__department").order_by("sort_order", "id"))
    by_kind: dict[str, list] = {}
    for part in parts:
        by_kind.setdefault(part.item.department.kind, []).append(part.item)
    lines = [
        "bundle: newborn",
        "title: 新生儿出生一件事",
        "asks: [baby_name, birth_date, mother_id_number]",
        "eligible:",
        '  - {rule: "any_parent.hukou_city == region.city", says: "父母至少一方须为本市户籍。", '
        'instead: "请向父母户籍所在地的派出所申报出生登记；其他事项可在浙里办分别申请。"}',
        '  - {rule: "baby.age_days <= 30", says: "新生儿出生一个月内可在线联办。", '
        'instead: "出生超过一个月的，请到户籍所在地派出所补办出生登记。"}',
        "steps:",
    ]
    used: dict[str, int] = {}
    for name, kind, after, needs, gives, due in NEWBORN_STEPS:
        index = used.get(kind, 0)
        used[kind] = index + 1
        item = by_kind[kind][index]
        fields = [f'item: "{item.code}"', f"by: {item.department.code}"]
        if after:
            fields.append(f"after: [{', '.join(after)}]")
        if needs:
            fields.append(f"needs: [{', '.join(needs)}]")
        fields.append(f"gives: [{', '.join(gives)}]")
        fields.append(f"due: {due} workday{'s' if due > 1 else ''}")
        fields.append(f'label: "{item.name}"')
        lines.append(f"  {name}: {{{', '.join(fields)}}}")
    return "\n".join(lines) + "\n"


def parallel_text(bundle: Bundle) -> str:
    parts = list(bundle.parts.select_related("item__department").order_by("sort_order", "id"))
    lines = [f"bundle: {bundle.slug}", f'title: "{bundle.name}"', "steps:"]
    for n, part in enumerate(parts, 1):
        item = part.item
        due = max(1, min(item.promised_days or 1, 30))
        lines.append(
            f'  part_{n}: {{item: "{item.code}", by: {item.department.code}, '
            f'due: {due} workday{"s" if due > 1 else ""}, label: "{item.name}"}}'
        )
    return "\n".join(lines) + "\n"


def seed(*, stdout) -> None:
    with transaction.atomic():
        grants = 0
        for owner, consumer, fields, mode, purpose, basis in GRANTS:
            _grant, created = DataGrant.objects.get_or_create(
                owner=_dept(owner),
                consumer=_dept(consumer),
                mode=mode,
                purpose=purpose,
                defaults={"fields": fields, "legal_basis": basis},
            )
            grants += created
        workflows = 0
        for bundle in (
            Bundle.objects.filter(is_active=True).select_related("region").order_by("slug")
        ):
            if WorkflowDefinition.objects.filter(bundle=bundle).exists():
                continue
            text = newborn_text(bundle) if bundle.slug == "newborn" else parallel_text(bundle)
            workflows += _bundle_workflow_agree(bundle, text, stdout=stdout)
    cases = _seed_cases()
    stdout.write(
        f"Joint handling: {grants} new grants, {workflows} new active workflows, "
        f"{cases} demo cases."
    )


def _department_admin(department: Department):
    membership = (
        Membership.objects.filter(department=department, role=Membership.Role.ADMIN)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return membership.user if membership is not None else None


def _bundle_workflow_agree(bundle: Bundle, text: str, *, stdout) -> int:
    """The government service centre of the bundle's region writes its workflow, the admin of
    each department it binds approves it, then it is activated: as staff would do it in admin."""
    User = get_user_model()
    author = User.objects.filter(username=f"{bundle.region.code}-zhengwu-admin").first()
    wf = services.definition_save(actor=author, text=text)
    for department in wf.departments.order_by("code"):
        approver = _department_admin(department)
        if approver is None:
            stdout.write(
                f"Workflow of {bundle.slug} left as a draft: {department.code} has no admin "
                "to approve it."
            )
            return 0
        services.definition_decide(
            actor=approver,
            definition=wf,
            department=department,
            decision=WorkflowApproval.Decision.APPROVED,
            note="示范数据：本部门环节的时限和数据已核对。",
        )
    services.definition_activate(actor=author, definition=wf)
    return 1


def _seed_cases() -> int:
    User = get_user_model()
    citizen = User.objects.filter(username="citizen2").first()
    if citizen is None or Application.objects.filter(applicant=citizen).exists():
        return 0
    ELicence.objects.get_or_create(
        holder=citizen,
        field="hukou_region",
        issuer=_dept("gongan"),
        application=None,
        defaults={"name": "户籍所在地", "value": "330106"},
    )
    newborn = Bundle.objects.get(slug="newborn")
    answers = {
        "baby_name": "李小满",
        "baby_gender": "女",
        "birth_date": dt.date.today().isoformat(),
        "birth_hospital": "浙江大学医学院附属妇产科医院",
        "mother_name": "李晓红",
        "mother_id_number": citizen.id_number,
        "father_name": "陈立新",
        "father_id_number": FATHER_ID,
        "hukou_address": "杭州市西湖区文三路 100 号",
        "mailing_address": "杭州市西湖区文三路 100 号",
        "residence_address": "杭州市西湖区文三路 100 号",
        "contact_phone": citizen.phone,
    }
    clerk = {
        k: User.objects.get(username=f"{REGION}-{k}-clerk")
        for k in ("weijian", "gongan", "renshe", "yibao")
    }

    def submit(key: str):
        draft = services.application_start(applicant=citizen, bundle=newborn)
        app, _ = services.application_submit(
            applicant=citizen, application=draft, answers=answers, idempotency_key=key
        )
        return app

    def move(app, step, *actions, outputs=None, reason="", fields=()):
        task = app.tasks.get(step=step)
        kind = task.department.kind
        for action in ("claim", *actions):
            services.task_transition(
                actor=clerk[kind],
                task_id=task.pk,
                action=action,
                outputs=outputs or {},
                reason=reason,
                fields=fields,
            )

    # 1. Just submitted: in 卫健's worklist.
    submit("demo-newborn-1")
    # 2. 公安 asks for a correction of the hukou address.
    app = submit("demo-newborn-2")
    move(
        app,
        "birth_certificate",
        "accept",
        "complete",
        outputs={"birth_certificate_no": "Q330100260001"},
    )
    move(
        app,
        "hukou",
        "accept",
        "correction",
        reason="父亲身份证号码与出生医学证明登记的不一致，请核对后重新填写。",
        fields=["father_id_number"],
    )
    # 3. Completed by all four departments.
    app = submit("demo-newborn-3")
    move(
        app,
        "birth_certificate",
        "accept",
        "complete",
        outputs={"birth_certificate_no": "Q330100260002"},
    )
    move(app, "vaccination", "accept", "complete", outputs={"vaccination_no": "YM2026000002"})
    move(
        app,
        "hukou",
        "accept",
        "complete",
        outputs={"citizen_id_number": "330106202601010028", "hukou_no": "HK330106000002"},
    )
    move(app, "social_card", "accept", "complete", outputs={"social_card_no": "SB330100000002"})
    move(app, "child_insurance", "accept", "complete", outputs={"insurance_no": "YB330100000002"})
    # 4. 公安 rejects: the parts that depend on it are not carried out; the vaccination card is.
    app = submit("demo-newborn-4")
    move(
        app,
        "birth_certificate",
        "accept",
        "complete",
        outputs={"birth_certificate_no": "Q330100260003"},
    )
    move(app, "vaccination", "accept", "complete", outputs={"vaccination_no": "YM2026000003"})
    move(
        app,
        "hukou",
        "accept",
        "reject",
        reason="父母双方户籍均不在本市，请向户籍所在地派出所申报。",
    )
    # 5. A draft saved for later.
    services.application_start(applicant=citizen, bundle=Bundle.objects.get(slug="retirement"))
    return 5
