"""Seeding the knowledge base: province articles from the real official replies, and the demo's
local articles that override some province ones.

``knowledge_seed_replies`` is idempotent: articles are keyed on ``reply-<message id>``; new ones
are written with one ``bulk_create``, changed ones with one ``bulk_update``, unchanged ones not at
all. A reply with nothing left once its salutation and closing are trimmed (a bare "留言已收悉")
is skipped. Item guides are not copied: the assistant reads the catalog's published items
directly, so they are never stale.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from departments.models import Department, Region
from zheliban.core.datasets import data_dir

from ..models import Article
from .services import knowledge_changed
from .text import reply_body

REPLIES_FILE = Path("complaints") / "messages_with_replies.jsonl"
QUESTION_MAX = Article._meta.get_field("question").max_length
REF_MAX = Article._meta.get_field("source_ref").max_length
BATCH = 500


def default_replies_path() -> Path:
    return data_dir() / REPLIES_FILE


class SeedDataError(Exception):
    """The replies file cannot be read."""


@dataclass
class SeedReport:
    path: Path | None = None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"Knowledge from {self.path}: {self.created} articles created, {self.updated} "
            f"updated, {self.unchanged} unchanged, {self.skipped} replies skipped"
        )


def reply_code(message_id: str) -> str:
    return f"reply-{message_id}"


def read_replies(path: Path) -> tuple[list[dict], list[str]]:
    """The usable rows of the replies file and a line per row that was not."""
    rows: list[dict] = []
    problems: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SeedDataError(f"cannot read {path}: {error}") from error
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            message_id = str(row["id"]).strip()
            topic = " ".join(str(row["topic"]).split())
            reply = str(row.get("reply") or "")
        except (ValueError, KeyError, TypeError) as error:
            problems.append(f"line {number}: {error!r}")
            continue
        if not message_id or not topic or len(message_id) > REF_MAX:
            problems.append(f"line {number}: no id or topic")
            continue
        rows.append({"id": message_id, "topic": topic, "reply": reply})
    return rows, problems


@transaction.atomic
def knowledge_seed_replies(*, path: Path) -> SeedReport:
    """Province articles from the official replies in ``path`` (JSON lines: id, topic, reply)."""
    report = SeedReport(path=path)
    rows, report.problems = read_replies(path)
    wanted: dict[str, tuple[str, str, str]] = {}
    for row in rows:
        body = reply_body(row["reply"])
        if not body:
            report.skipped += 1
            continue
        wanted[reply_code(row["id"])] = (row["topic"][:QUESTION_MAX], body, row["id"])
    existing = {
        a.code: a
        for a in Article.objects.filter(code__in=list(wanted)).only(
            "id", "code", "question", "answer", "source", "source_ref", "scope"
        )
    }
    new: list[Article] = []
    changed: list[Article] = []
    for code, (question, answer, ref) in wanted.items():
        article = existing.get(code)
        if article is None:
            new.append(
                Article(
                    code=code,
                    scope=Article.Scope.PROVINCE,
                    question=question,
                    answer=answer,
                    source=Article.Source.REPLY,
                    source_ref=ref,
                )
            )
        elif (article.question, article.answer, article.source_ref) != (question, answer, ref):
            article.question, article.answer, article.source_ref = question, answer, ref
            article.source = Article.Source.REPLY
            changed.append(article)
        else:
            report.unchanged += 1
    Article.objects.bulk_create(new, batch_size=BATCH)
    Article.objects.bulk_update(
        changed, ["question", "answer", "source", "source_ref", "updated_at"], batch_size=BATCH
    )
    report.created, report.updated = len(new), len(changed)
    report.skipped += len(report.problems)
    if new or changed:
        knowledge_changed()
    return report


# --- the demo's own articles -------------------------------------------------------------------

# (code, question, answer, keywords). Staff-written demo content of the demo province.
DEMO_PROVINCE = (
    (
        "demo-hotline-scope",
        "12345热线受理哪些事项？",
        "12345政务服务便民热线受理企业和群众对政府工作和公共服务的咨询、求助、投诉、举报和"
        "意见建议。已进入诉讼、仲裁、信访、行政复议程序的事项，以及涉及国家秘密的事项，"
        "按有关规定办理，热线不予受理。",
        "12345 热线 受理范围",
    ),
    (
        "demo-reply-time",
        "反映问题后多久能得到答复？",
        "咨询类工单一般在1个工作日内答复；投诉、举报、求助类工单在5个工作日内办结并答复，"
        "情况复杂的可延期，延期时会告知您。工单办结后会进行回访，请您对办理结果评价。",
        "答复时限 办理时限 工单",
    ),
    (
        "demo-social-card-loss",
        "社会保障卡丢了怎么办？",
        "社会保障卡遗失后，请先通过浙里办或拨打12333办理临时挂失，再持居民身份证到社保卡"
        "服务网点办理正式挂失和补卡。",
        "社保卡 挂失 补卡",
    ),
)
# (code, scope, region code, department code, overrides, question, answer, keywords)
DEMO_LOCAL = (
    (
        "demo-hotline-scope-hz",
        Article.Scope.CITY,
        "330100",
        None,
        "demo-hotline-scope",
        "12345热线受理哪些事项？",
        "杭州市12345热线受理企业和群众对市、区两级政府工作和公共服务的咨询、求助、投诉、举报"
        "和意见建议；也可以在杭州城市大脑“民呼我为”栏目在线反映。已进入诉讼、仲裁、信访、"
        "行政复议程序的事项不予受理。",
        "12345 热线 受理范围 杭州",
    ),
    (
        "demo-social-card-loss-hz",
        Article.Scope.DEPARTMENT,
        "330100",
        "330100-renshe",
        "demo-social-card-loss",
        "社会保障卡丢了怎么办？",
        "在杭州市，社会保障卡遗失后可在浙里办“社保卡挂失”即时办理正式挂失，补卡可选择邮寄"
        "到家，无需到窗口；也可拨打12333办理临时挂失。",
        "社保卡 挂失 补卡 杭州",
    ),
)
# A province article whose validity ended: shown as expired, never used by the assistant.
DEMO_EXPIRED = (
    "demo-epidemic-hotline",
    "疫情防控期间如何办理业务？",
    "疫情防控期间，各级政务服务大厅实行预约办理，请优先通过网上、掌上办理。",
    "疫情 预约",
    dt.date(2020, 1, 24),
    dt.date(2022, 12, 31),
)


def _upsert(code: str, **values) -> bool:
    """Create or update one demo article; True when something was written."""
    article = Article.objects.filter(code=code).first()
    if article is None:
        Article.objects.create(code=code, source=Article.Source.STAFF, **values)
        return True
    if all(getattr(article, key) == value for key, value in values.items()):
        return False
    for key, value in values.items():
        setattr(article, key, value)
    article.full_clean()
    article.save()
    return True


@transaction.atomic
def knowledge_seed_demo() -> int:
    """The demo's province articles, an expired one, and local articles of 杭州市 overriding two
    of them (skipped where the demo's region or department is missing). Returns how many articles
    were written."""
    written = 0
    province: dict[str, Article] = {}
    for code, question, answer, keywords in DEMO_PROVINCE:
        written += _upsert(
            code, scope=Article.Scope.PROVINCE, question=question, answer=answer, keywords=keywords
        )
        province[code] = Article.objects.get(code=code)
    code, question, answer, keywords, valid_from, valid_until = DEMO_EXPIRED
    written += _upsert(
        code,
        scope=Article.Scope.PROVINCE,
        question=question,
        answer=answer,
        keywords=keywords,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    regions = {r.code: r for r in Region.objects.filter(code__in={r[2] for r in DEMO_LOCAL})}
    departments = {
        d.code: d for d in Department.objects.filter(code__in={r[3] for r in DEMO_LOCAL if r[3]})
    }
    for code, scope, region, department, overrides, question, answer, keywords in DEMO_LOCAL:
        if region not in regions or (department and department not in departments):
            continue
        written += _upsert(
            code,
            scope=scope,
            region=regions[region],
            department=departments.get(department) if department else None,
            overrides=province[overrides],
            question=question,
            answer=answer,
            keywords=keywords,
        )
    if written:
        knowledge_changed()
    return written


def seed_demo(*, stdout) -> None:
    """The complaints app's part of ``seed_demo``: the replies (when the file is there) and the
    demo's own articles."""
    path = default_replies_path()
    if path.is_file():
        try:
            report = knowledge_seed_replies(path=path)
        except SeedDataError as error:
            stdout.write(f"Knowledge base: {error}; replies skipped.")
        else:
            stdout.write(report.line())
    else:
        stdout.write(
            f"Knowledge base: no replies file at {path} (set ZHELIBAN_DATA_DIR); replies skipped."
        )
    written = knowledge_seed_demo()
    stdout.write(
        f"Knowledge base: {Article.objects.count()} articles "
        f"({written} demo articles written, local overrides for 杭州市)."
    )
