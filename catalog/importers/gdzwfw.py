"""Import the Guangdong government-service feed (广东政务服务网, ``gdzwfw_items.jsonl``).

Two halves:

- pure functions that read one line of the feed into a ``ParsedRow`` (model field values,
  materials, theme names, joint-handling parts) and note every value they had to correct;
- ``gdzwfw_import``, the service that writes the parsed rows in one transaction: regions,
  departments and themes first, then each new or changed item through ``catalog.services.
  item_publish`` (one new version each, re-indexed), leaving unchanged items untouched.

Decisions worth knowing (see also the constants below):

- A malformed line (not UTF-8, not JSON, not an object, no TASK_CODE / TASK_NAME / DEPT_NAME,
  unknown region or item type, a repeated TASK_CODE, a value the model refuses) is a skipped row
  with its reason; the rest of the file still imports. A missing or unreadable file and any
  database error are fatal: the transaction rolls back and the catalog stays as it was.
- Time limits are working days. ``"20(工作日)"`` is 20 and ``"无"`` is empty. Other spellings of
  working days (``20个工作日``, ``20（工作日）``, a bare ``20``) and ``即办`` (0) are converted and
  reported. Calendar days (``90(自然日)``) are *not* converted: how many working days they hold
  depends on the start date and the holidays, so the limit is left empty and reported.
- ``handle_location == "无线下办理窗口"`` ("no counter") means no counter: ``counter`` False and
  no location. Every other item has ``counter`` True.
- The theme ``其他`` ("other", 1,071 items) is not imported: it tells a citizen nothing, and an item
  with no theme is exactly an "other" item. All other theme names become Theme rows.
- A material counts as issued by a department when its name names a certificate or proof
  (``ISSUED_WORDS``) and not a document the applicant writes (``APPLICANT_WORDS``); everything
  else is provided by the applicant. Form: electronic for items handled online, else original.
- ``legal_basis`` lists the distinct titles in 《》 of ``accept_standard`` that name a statute
  (law, regulation, rules, measures, notice, standard ...), one per line, in order of citation.
- Joint handling (``co_department``): ``省级`` is 广东省 (440000), ``市级`` is 广州市 (440100,
  the only city in the feed). ``县级`` and ``国家级`` parts have no region here, and ``其他``
  names no department: those parts are reported and not recorded. An agency is matched inside
  its region through ``AGENCY_NAMES``; when none exists it is created and reported.
- Phone fields longer than the model allows (120) keep only their phone numbers (reported).
- Every imported item is published (``is_active``) with source ``gdzwfw``: an import republishes
  an item staff had withdrawn, as the feed lists it.
- Not in the feed and left to staff: ``mobile``, ``id_only``, fees, summary, form fields, life
  events, popularity (new items get the model defaults; updates never touch them).
- Whitespace around every value is stripped without a report.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.text import slugify
from pypinyin import Style, lazy_pinyin
from tqdm import tqdm

from departments.models import Department, Region

from ..models import JointStage, Material, ServiceItem, Theme
from ..search import generation_bump
from ..services import item_publish

SOURCE = "gdzwfw"
PUBLISH_NOTE = "gdzwfw import"
NONE_WORDS = frozenset({"", "无"})

ItemType = ServiceItem.ItemType
ITEM_TYPES = {
    "行政许可": ItemType.LICENSING,
    "行政确认": ItemType.CONFIRMATION,
    "行政给付": ItemType.BENEFIT,
    "行政奖励": ItemType.AWARD,
    "行政裁决": ItemType.ADJUDICATION,
    "行政备案": ItemType.FILING,
    "其他行政权力": ItemType.OTHER_POWER,
    "公共服务": ItemType.PUBLIC_SERVICE,
}
CITIZEN_ADDRESSEES = frozenset({"自然人"})
ENTERPRISE_ADDRESSEES = frozenset(
    {"企业法人", "事业法人", "社会组织法人", "非法人企业", "其他组织", "行政机关"}
)

# Regions the feed lives in (outside the demo's 浙江省), created when missing.
REGIONS = {
    "440000": ("广东省", Region.Level.PROVINCE, None),
    "440100": ("广州市", Region.Level.CITY, "440000"),
}
# co_department levels → region code. 县级 / 国家级 have no region in this feed.
LEVEL_REGIONS = {"省级": "440000", "市级": "440100"}

K = Department.Kind
# Checked in order; the first word found in a department's name gives its kind.
DEPARTMENT_KINDS = (
    ("公安", K.PUBLIC_SECURITY),
    ("卫生健康", K.HEALTH),
    ("人力资源", K.HUMAN_RESOURCES),
    ("医疗保障", K.MEDICAL_INSURANCE),
    ("市场监督", K.MARKET_REGULATION),
    ("税务", K.TAXATION),
    ("民政", K.CIVIL_AFFAIRS),
    ("自然资源", K.NATURAL_RESOURCES),
    ("住房和城乡建设", K.HOUSING),
    ("生态环境", K.ECOLOGY),
    ("交通运输", K.TRANSPORT),
    ("教育", K.EDUCATION),
    ("商务", K.COMMERCE),
)

# Short agency names of co_department → how department names say them. A department of the
# region named <region><this>[厅|局|委员会] is preferred, then any whose name contains it.
AGENCY_NAMES = {
    "发改委": "发展和改革委员会",
    "人社": "人力资源和社会保障",
    "住房与城乡建设": "住房和城乡建设",
    "编办": "机构编制委员会办公室",
    "市场监管": "市场监督管理",
    "食药监": "药品监督管理",
    "中医药管理": "中医药",
    "宗教": "民族宗教事务",
    "残联": "残疾人联合会",
}
UNNAMED_AGENCIES = frozenset({"其他"})
AGENCY_SUFFIXES = ("", "厅", "局", "委员会")
# A created department's name ends in one of these already, or gets 厅 (province) / 局 (city).
ORGAN_ENDINGS = ("厅", "局", "委员会", "办公室", "联合会")

Stage = JointStage.Stage
STAGES = {
    "受理": Stage.ACCEPT,
    "审核": Stage.REVIEW,
    "决定与公开": Stage.DECIDE,
    "证件制定与送达": Stage.ISSUE,
}

SKIPPED_THEMES = frozenset({"其他"})
ISSUED_WORDS = (
    "证明",
    "证书",
    "执照",
    "许可证",
    "身份证",
    "户口簿",
    "护照",
    "驾驶证",
    "结婚证",
    "资格证",
)
APPLICANT_WORDS = (
    "申请表",
    "申请书",
    "登记表",
    "报名表",
    "表格",
    "委托书",
    "承诺书",
    "声明",
    "说明",
    "报告",
    "请示",
    "照片",
    "相片",
)

DAYS_RE = re.compile(r"(\d+)\s*[(（]\s*工作日\s*[)）]")
WORKING_DAYS_RE = re.compile(r"(\d+)\s*(?:个)?\s*(?:工作日|[(（]\s*工作日\s*[)）])?")
CALENDAR_DAYS_RE = re.compile(r"自然日|日历日")
INSTANT_WORDS = frozenset({"即办", "即办件", "当场办结", "即时办结"})
CITATION_RE = re.compile(r"《([^《》]+)》")
TRAILING_NOTE_RE = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
STATUTE_RE = re.compile(
    r"(法|条例|规定|办法|细则|决定|通知|意见|规则|解释|标准|规范|目录|公约|准则|章程|规程|要求)$"
)
JOINT_PART_RE = re.compile(
    r"\s*(?P<level>国家级|省级|市级|县级|区级)?\s*(?P<agency>[^（()）、，,]+?)\s*"
    r"[（(](?P<stages>[^（()）]*)[）)]\s*[、，,;；]?"
)
PHONE_RE = re.compile(
    r"0\d{2,3}-\d{7,8}(?:转\d{1,5})?|(?<!\d)1[3-9]\d{9}(?!\d)|(?<![\w.-])12\d{3}(?!\d)"
)
LOCATION_PREFIXES = ("办理地点：", "办理地点:")
NO_COUNTER = "无线下办理窗口"
URL_VALIDATOR = URLValidator(schemes=["http", "https"])

PHONE_MAX = ServiceItem._meta.get_field("consult_phone").max_length
URL_MAX = ServiceItem._meta.get_field("online_url").max_length
MATERIAL_MAX = Material._meta.get_field("name").max_length
THEME_MAX = Theme._meta.get_field("name").max_length
SLUG_MAX = Theme._meta.get_field("slug").max_length
DEPARTMENT_CODE_MAX = Department._meta.get_field("code").max_length

# Item fields the feed decides; updates compare and write only these.
FEED_FIELDS = (
    "code",
    "basic_code",
    "main_code",
    "main_name",
    "sub_name",
    "name",
    "item_type",
    "for_citizens",
    "for_enterprises",
    "legal_basis",
    "acceptance_conditions",
    "statutory_days",
    "promised_days",
    "trips",
    "online",
    "counter",
    "courier",
    "appointment",
    "consult_phone",
    "complaint_phone",
    "location",
    "online_url",
)
MATERIAL_KEYS = ("name", "source", "form", "required", "copies", "note")
MAX_LENGTHS = {
    name: ServiceItem._meta.get_field(name).max_length
    for name in FEED_FIELDS
    if ServiceItem._meta.get_field(name).max_length
}


class ImportFailed(Exception):
    """The import cannot run at all (the file is missing or unreadable)."""


class RowSkipped(Exception):
    def __init__(self, field: str, raw: Any, reason: str):
        super().__init__(reason)
        self.field, self.raw, self.reason = field, raw, reason


@dataclass
class Issue:
    """One line of the report: a skipped row, a corrected field or a created department."""

    kind: str  # "skipped" | "corrected" | "department"
    line: int
    task_code: str
    field: str
    raw: str
    reason: str

    def __str__(self) -> str:
        code = f" {self.task_code}" if self.task_code else ""
        return f"line {self.line}{code}: {self.field} {self.raw!r}: {self.reason}"


@dataclass
class JointPart:
    region_code: str
    agency: str
    stages: list[str]
    raw: str


@dataclass
class ParsedRow:
    line: int
    task_code: str
    area_code: str
    department_name: str
    org_code: str
    fields: dict[str, Any]
    materials: list[dict[str, Any]]
    themes: list[str]
    joint_parts: list[JointPart]
    notes: list[Issue] = field(default_factory=list)
    # Resolved by the import service:
    region: Region | None = None
    department: Department | None = None
    theme_ids: list[int] = field(default_factory=list)
    stages: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class ImportReport:
    path: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Issue] = field(default_factory=list)
    corrected: list[Issue] = field(default_factory=list)
    departments: list[Issue] = field(default_factory=list)
    created_department_ids: list[int] = field(default_factory=list)
    created_theme_ids: list[int] = field(default_factory=list)
    created_region_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
            "corrected": len(self.corrected),
            "departments_created": len(self.created_department_ids),
            "themes_created": len(self.created_theme_ids),
            "regions_created": len(self.created_region_ids),
        }

    def text_lines(self) -> Iterator[str]:
        """The report for people: every skipped row and corrected field, then the counts."""
        if self.skipped:
            yield f"Skipped rows ({len(self.skipped)}):"
            yield from (f"  {issue}" for issue in self.skipped)
        if self.corrected:
            yield f"Corrected fields ({len(self.corrected)}):"
            yield from (f"  {issue}" for issue in self.corrected)
        joint = [issue for issue in self.departments if issue.field == "co_department"]
        if joint:
            yield f"Departments created for joint handling ({len(joint)}):"
            yield from (f"  {issue}" for issue in joint)
        c = self.counts()
        yield (
            f"Items: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged, "
            f"{c['skipped']} skipped ({c['rows']} rows read); {c['corrected']} fields corrected."
        )
        yield (
            f"Created: {c['departments_created']} departments, {c['themes_created']} themes, "
            f"{c['regions_created']} regions."
        )
        yield f"Wall time: {self.seconds:.1f} s."

    def json_lines(self) -> Iterator[str]:
        """The report for machines: one JSON object a line, the summary last."""
        for issue in [*self.skipped, *self.corrected, *self.departments]:
            yield json.dumps(asdict(issue), ensure_ascii=False)
        summary = {
            "kind": "summary",
            "path": self.path,
            **self.counts(),
            "seconds": round(self.seconds, 3),
        }
        yield json.dumps(summary, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Parsing: pure functions
# ---------------------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A feed value as text: ``None`` and ``"无"`` are empty."""
    if value is None:
        return ""
    value = str(value).strip()
    return "" if value in NONE_WORDS else value


def parse_days(raw: Any) -> tuple[int | None, str | None]:
    """A time limit in working days, and a note when the value was not in the usual shape."""
    value = text(raw)
    if not value:
        return None, None
    if match := DAYS_RE.fullmatch(value):
        if value == f"{match[1]}(工作日)":
            return int(match[1]), None
        return int(match[1]), "working days, unusual spelling; converted"
    if value in INSTANT_WORDS:
        return 0, "handled on the spot; converted to 0"
    if CALENDAR_DAYS_RE.search(value):
        return None, "calendar days cannot be counted as working days; left empty"
    if match := WORKING_DAYS_RE.fullmatch(value):
        return int(match[1]), "working days, unusual spelling; converted"
    return None, "not a time limit; left empty"


def statute_titles(text_: str) -> list[str]:
    """The distinct statutes cited in 《》 (laws, regulations, measures ...), in order."""
    titles: dict[str, None] = {}
    for raw in CITATION_RE.findall(text_ or ""):
        title = raw.strip()
        if title and STATUTE_RE.search(TRAILING_NOTE_RE.sub("", title)):
            titles.setdefault(title, None)
    return list(titles)


def material_source(name: str) -> str:
    """Issued by a department when it names a certificate or proof the applicant did not write."""
    if any(w in name for w in ISSUED_WORDS) and not any(w in name for w in APPLICANT_WORDS):
        return Material.Source.ISSUED
    return Material.Source.APPLICANT


def parse_materials(raw: Any, *, online: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """Materials from ``material_intro`` (a list of names, or ``"无"``), de-duplicated."""
    notes: list[str] = []
    if isinstance(raw, list):
        names = raw
    elif raw is None or isinstance(raw, str):
        if not text(raw):
            return [], notes
        names = [raw]
        notes.append("a single name instead of a list; taken as one material")
    else:
        return [], ["not a list of names; no materials"]
    form = Material.Form.ELECTRONIC if online else Material.Form.ORIGINAL
    seen: dict[str, None] = {}
    for name in names:
        if not isinstance(name, str):
            notes.append(f"{name!r} is not a name; dropped")
            continue
        name = text(name)
        if len(name) > MATERIAL_MAX:
            notes.append(f"a name longer than {MATERIAL_MAX} characters; dropped")
        elif name:
            seen.setdefault(name, None)
    materials = [
        {"name": name, "source": material_source(name), "form": form, "required": True}
        for name in seen
    ]
    return materials, notes


def parse_joint_parts(raw: Any) -> tuple[list[JointPart], list[tuple[str, str]]]:
    """``省级教育（受理,审核）、市级司法（受理）`` → parts, and (part, reason) for the rest."""
    value = text(raw)
    parts: list[JointPart] = []
    problems: list[tuple[str, str]] = []
    pos = 0
    while pos < len(value):
        match = JOINT_PART_RE.match(value, pos)
        if not match:
            problems.append((value[pos:], "not understood; not recorded"))
            break
        pos = match.end()
        part = match[0].strip(" 、，,;；")
        level, agency = match["level"] or "", match["agency"].strip()
        region_code = LEVEL_REGIONS.get(level)
        if region_code is None:
            reason = f"no region for level {level!r} in this feed; not recorded"
            problems.append((part, reason))
            continue
        if agency in UNNAMED_AGENCIES:
            problems.append((part, "no department named; not recorded"))
            continue
        stages: list[str] = []
        for word in re.split(r"[,，、]", match["stages"]):
            word = word.strip()
            if word in STAGES:
                if STAGES[word] not in stages:
                    stages.append(STAGES[word])
            elif word:
                problems.append((part, f"unknown stage {word!r}; not recorded"))
        if stages:
            parts.append(JointPart(region_code, agency, stages, part))
    return parts, problems


def short_phone(raw: Any) -> tuple[str, str | None]:
    """A phone field; when too long for the model, only the phone numbers it contains."""
    value = text(raw)
    if len(value) <= PHONE_MAX:
        return value, None
    numbers = list(dict.fromkeys(PHONE_RE.findall(value)))
    kept = ""
    for number in numbers:
        candidate = f"{kept}、{number}" if kept else number
        if len(candidate) > PHONE_MAX:
            break
        kept = candidate
    if not kept:
        return "", f"longer than {PHONE_MAX} characters and no phone number in it; left empty"
    return kept, f"longer than {PHONE_MAX} characters; kept the phone numbers only"


def theme_slug(name: str) -> str:
    """``交通出行`` → ``jiao-tong-chu-xing`` (pinyin words, at most the slug's length)."""
    words = [slugify(word) for word in lazy_pinyin(name)]
    slug = "-".join(w for w in words if w)[:SLUG_MAX].strip("-")
    return slug or "theme"


def department_kind(name: str) -> str:
    for word, kind in DEPARTMENT_KINDS:
        if word in name:
            return kind
    return K.OTHER


def name_initials(name: str) -> str:
    return slugify("".join(lazy_pinyin(name, style=Style.FIRST_LETTER))) or "dept"


def parse_row(line: int, data: dict[str, Any]) -> ParsedRow:
    """One feed object → a ParsedRow; raises RowSkipped when the row cannot be used."""
    task_code = text(data.get("TASK_CODE"))
    notes: list[Issue] = []

    def note(field_name: str, raw: Any, reason: str) -> None:
        raw_text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
        notes.append(Issue("corrected", line, task_code, field_name, raw_text, reason))

    for key in ("TASK_CODE", "TASK_NAME", "DEPT_NAME"):
        if not text(data.get(key)):
            raise RowSkipped(key, data.get(key), f"{key} is missing")
    area_code = text(data.get("AREACODE"))
    if not area_code:
        raise RowSkipped("AREACODE", data.get("AREACODE"), "AREACODE is missing")

    type_text = text(data.get("matter_type"))
    if type_text not in ITEM_TYPES:
        fallback = text(data.get("TASK_TYPE_TEXT"))
        if fallback not in ITEM_TYPES:
            raise RowSkipped("matter_type", data.get("matter_type"), "unknown item type")
        note("matter_type", data.get("matter_type"), f"unknown; took TASK_TYPE_TEXT {fallback}")
        type_text = fallback

    addressees = data.get("service_object_name")
    if isinstance(addressees, str):
        addressees = re.split(r"[,，、]", addressees)
    addressees = {text(a) for a in addressees} if isinstance(addressees, list) else set()
    for_citizens = bool(addressees & CITIZEN_ADDRESSEES)
    for_enterprises = bool(addressees & ENTERPRISE_ADDRESSEES)
    if not (for_citizens or for_enterprises):
        note("service_object_name", data.get("service_object_name"), "no known addressee; citizens")
        for_citizens = True

    days: dict[str, int | None] = {}
    for key in ("handle_time", "handle_time_limit"):
        days[key], reason = parse_days(data.get(key))
        if reason:
            note(key, data.get(key), reason)

    trips_raw = text(data.get("visit_number"))
    trips = 1
    if trips_raw.isdigit() and int(trips_raw) <= 99:
        trips = int(trips_raw)
    else:
        note("visit_number", data.get("visit_number"), "not a number of trips; left at 1")

    def flag(key: str, yes: set[str], no: set[str]) -> bool:
        value = text(data.get(key))
        if value in yes:
            return True
        if value not in no:
            note(key, data.get(key), "not understood; taken as no")
        return False

    online = flag("ONLINECHECK", {"1"}, {"0", ""})
    courier = flag("courier_service", {"是"}, {"否", "不支持", ""})
    appointment = flag("online_book", {"是"}, {"否", ""})

    location = text(data.get("handle_location"))
    counter = location != NO_COUNTER
    if not counter:
        location = ""
    for prefix in LOCATION_PREFIXES:
        location = location.removeprefix(prefix).strip()
    location = text(location)

    phones = {}
    for key in ("consult_phone", "complain_phone"):
        phones[key], reason = short_phone(data.get(key))
        if reason:
            note(key, data.get(key), reason)

    url = text(data.get("URL"))
    if url:
        try:
            if len(url) > URL_MAX:
                raise ValidationError("too long")
            URL_VALIDATOR(url)
        except ValidationError:
            note("URL", data.get("URL"), "not a valid http(s) address; left empty")
            url = ""

    materials, material_notes = parse_materials(data.get("material_intro"), online=online)
    for reason in material_notes:
        note("material_intro", data.get("material_intro"), reason)

    themes_raw = data.get("theme_category")
    themes: list[str] = []
    if isinstance(themes_raw, list):
        for name in themes_raw:
            name = text(name) if isinstance(name, str) else ""
            if len(name) > THEME_MAX:
                note("theme_category", name, f"longer than {THEME_MAX} characters; dropped")
            elif name and name not in SKIPPED_THEMES and name not in themes:
                themes.append(name)
    elif text(themes_raw):
        note("theme_category", themes_raw, "not a list of names; no themes")

    joint_parts, problems = parse_joint_parts(data.get("co_department"))
    for part, reason in problems:
        note("co_department", part, reason)

    conditions = text(data.get("accept_standard"))
    fields = {
        "code": task_code,
        "basic_code": text(data.get("CATAID")),
        "main_code": text(data.get("parentCatalogId")),
        "main_name": text(data.get("parentCatalogName")),
        "sub_name": text(data.get("subTaskName")),
        "name": text(data.get("TASK_NAME")),
        "item_type": ITEM_TYPES[type_text],
        "for_citizens": for_citizens,
        "for_enterprises": for_enterprises,
        "legal_basis": "\n".join(f"《{t}》" for t in statute_titles(conditions)),
        "acceptance_conditions": conditions,
        "statutory_days": days["handle_time"],
        "promised_days": days["handle_time_limit"],
        "trips": trips,
        "online": online,
        "counter": counter,
        "courier": courier,
        "appointment": appointment,
        "consult_phone": phones["consult_phone"],
        "complaint_phone": phones["complain_phone"],
        "location": location,
        "online_url": url,
    }
    for name, limit in MAX_LENGTHS.items():
        if len(fields[name]) > limit:
            raise RowSkipped(name, fields[name], f"longer than {limit} characters")
    return ParsedRow(
        line=line,
        task_code=task_code,
        area_code=area_code,
        department_name=text(data.get("DEPT_NAME")),
        org_code=text(data.get("ORGCODE")),
        fields=fields,
        materials=materials,
        themes=themes,
        joint_parts=joint_parts,
        notes=notes,
    )


def parse_lines(lines: Iterable[bytes]) -> tuple[list[ParsedRow], list[Issue], int]:
    """Every usable row of the feed, the skipped ones with their reasons, and the rows read."""
    rows: list[ParsedRow] = []
    skipped: list[Issue] = []
    seen: dict[str, int] = {}
    count = 0
    for number, raw_line in enumerate(lines, start=1):
        if not raw_line.strip():
            continue
        count += 1
        raw_preview = raw_line[:80].decode("utf-8", "replace").strip()
        try:
            data = json.loads(raw_line.decode("utf-8"))
        except UnicodeDecodeError:
            skipped.append(Issue("skipped", number, "", "line", raw_preview, "not UTF-8 text"))
            continue
        except json.JSONDecodeError as error:
            reason = f"not valid JSON ({error.msg})"
            skipped.append(Issue("skipped", number, "", "line", raw_preview, reason))
            continue
        if not isinstance(data, dict):
            reason = "not a JSON object"
            skipped.append(Issue("skipped", number, "", "line", raw_preview, reason))
            continue
        try:
            row = parse_row(number, data)
        except RowSkipped as skip:
            raw = (
                skip.raw if isinstance(skip.raw, str) else json.dumps(skip.raw, ensure_ascii=False)
            )
            code = text(data.get("TASK_CODE"))
            skipped.append(Issue("skipped", number, code, skip.field, raw, skip.reason))
            continue
        if row.task_code in seen:
            reason = f"duplicate of line {seen[row.task_code]}"
            code = row.task_code
            skipped.append(Issue("skipped", number, code, "TASK_CODE", code, reason))
            continue
        seen[row.task_code] = number
        rows.append(row)
    return rows, skipped, count


# ---------------------------------------------------------------------------------------------
# Writing: the import service
# ---------------------------------------------------------------------------------------------


def gdzwfw_import(*, path: Path | str, progress: bool = False) -> ImportReport:
    """Import the feed at ``path``: all of it in one transaction, or nothing.

    Raises ``ImportFailed`` when the file cannot be read; database errors propagate (and roll
    back). Rows that cannot be used are reported in ``ImportReport.skipped``.
    """
    started = time.monotonic()
    path = Path(path)
    try:
        with path.open("rb") as feed:
            lines = feed.read().splitlines()
    except OSError as error:
        raise ImportFailed(f"cannot read {path}: {error.strerror or error}") from error
    rows, skipped, count = parse_lines(lines)
    report = ImportReport(path=str(path), rows=count, skipped=skipped)
    for row in rows:
        report.corrected.extend(row.notes)
    with transaction.atomic():
        _Importer(report).run(rows, progress=progress)
        if report.created or report.updated:
            generation_bump()
    report.skipped.sort(key=_line)
    report.corrected.sort(key=_line)
    report.seconds = time.monotonic() - started
    return report


class _Importer:
    """Prefetches what exists once, resolves references, then writes only what changed."""

    def __init__(self, report: ImportReport):
        self.report = report
        self.regions: dict[str, Region | None] = {}
        self.departments: dict[tuple[int, str], Department] = {}
        self.department_codes: set[str] = set()
        self.agencies: dict[tuple[str, str], Department] = {}
        self.themes: dict[str, Theme] = {}
        self.theme_slugs: set[str] = set()
        self.items: dict[str, ServiceItem] = {}

    def run(self, rows: list[ParsedRow], *, progress: bool) -> None:
        self._prefetch(rows)
        # Every row's own department first, so that joint handling finds them rather than
        # creating look-alikes.
        usable = [row for row in rows if self._resolve_department(row)]
        for row in usable:
            self._resolve_references(row)
        for row in tqdm(usable, disable=not progress, unit="item", desc="gdzwfw"):
            self._import(row)

    def _prefetch(self, rows: list[ParsedRow]) -> None:
        for department in Department.objects.all():
            self.departments[(department.region_id, department.name)] = department
            self.department_codes.add(department.code)
        for theme in Theme.objects.all():
            self.themes[theme.name] = theme
            self.theme_slugs.add(theme.slug)
        codes = [row.task_code for row in rows]
        self.items = {
            item.code: item
            for item in ServiceItem.objects.filter(code__in=codes).prefetch_related(
                "materials", "themes", "joint_stages"
            )
        }

    # References: regions, departments, themes ------------------------------------------------

    def _region(self, code: str) -> Region | None:
        if code not in self.regions:
            region = Region.objects.filter(code=code).first()
            if region is None and code in REGIONS:
                name, level, parent_code = REGIONS[code]
                parent = self._region(parent_code) if parent_code else None
                region = Region.objects.create(code=code, name=name, level=level, parent=parent)
                self.report.created_region_ids.append(region.pk)
            self.regions[code] = region
        return self.regions[code]

    def _new_department(
        self, *, region: Region, name: str, code: str, row: ParsedRow, field_name: str, raw: str
    ) -> Department:
        code = re.sub(r"[^a-z0-9-]+", "", code.lower())[:DEPARTMENT_CODE_MAX]
        unique, n = code, 1
        while unique in self.department_codes:
            n += 1
            unique = f"{code[: DEPARTMENT_CODE_MAX - len(str(n)) - 1]}-{n}"
        department = Department.objects.create(
            code=unique, name=name, kind=department_kind(name), region=region
        )
        self.department_codes.add(unique)
        self.departments[(region.pk, name)] = department
        self.report.created_department_ids.append(department.pk)
        self.report.departments.append(
            Issue("department", row.line, row.task_code, field_name, raw, f"created {name}")
        )
        return department

    def _agency(self, row: ParsedRow, part: JointPart) -> Department:
        key = (part.region_code, part.agency)
        if key in self.agencies:
            return self.agencies[key]
        region = self._region(part.region_code)
        body = AGENCY_NAMES.get(part.agency, part.agency)
        in_region = [d for (rid, _), d in self.departments.items() if rid == region.pk]
        preferred = {f"{region.name}{body}{suffix}" for suffix in AGENCY_SUFFIXES}
        candidates = [d for d in in_region if d.name in preferred] or [
            d for d in in_region if body in d.name
        ]
        candidates.sort(key=lambda d: (len(d.name), d.name))
        if candidates:
            department = candidates[0]
            if len(candidates) > 1:
                names = "、".join(d.name for d in candidates)
                reason = f"{part.agency} could be {names}; took {department.name}"
                self.report.corrected.append(
                    Issue("corrected", row.line, row.task_code, "co_department", part.raw, reason)
                )
        else:
            suffix = ""
            if not body.endswith(ORGAN_ENDINGS):
                suffix = "厅" if region.parent_id is None else "局"
            name = f"{region.name}{body}{suffix}"
            department = self._new_department(
                region=region,
                name=name,
                code=f"{region.code}-{name_initials(body + suffix)}",
                row=row,
                field_name="co_department",
                raw=part.raw,
            )
        self.agencies[key] = department
        return department

    def _theme(self, name: str) -> Theme:
        if name not in self.themes:
            slug = base = theme_slug(name)
            n = 1
            while slug in self.theme_slugs:
                n += 1
                slug = f"{base[: SLUG_MAX - len(str(n)) - 1]}-{n}"
            theme = Theme.objects.create(name=name, slug=slug)
            self.themes[name] = theme
            self.theme_slugs.add(slug)
            self.report.created_theme_ids.append(theme.pk)
        return self.themes[name]

    def _resolve_department(self, row: ParsedRow) -> bool:
        """Attach the row's region and department; False when the row is skipped."""
        region = self._region(row.area_code)
        if region is None:
            self._skip(row, "AREACODE", row.area_code, "unknown region")
            return False
        row.region = region
        row.department = self.departments.get((region.pk, row.department_name))
        if row.department is None:
            org = row.org_code or name_initials(row.department_name)
            row.department = self._new_department(
                region=region,
                name=row.department_name,
                code=f"{region.code}-{org}",
                row=row,
                field_name="DEPT_NAME",
                raw=row.department_name,
            )
        return True

    def _resolve_references(self, row: ParsedRow) -> None:
        row.theme_ids = [self._theme(name).pk for name in row.themes]
        row.stages = []
        for part in row.joint_parts:
            department = self._agency(row, part)
            for stage in part.stages:
                if (department.pk, stage) not in row.stages:
                    row.stages.append((department.pk, stage))

    def _skip(self, row: ParsedRow, field_name: str, raw: str, reason: str) -> None:
        issue = Issue("skipped", row.line, row.task_code, field_name, raw, reason)
        self.report.skipped.append(issue)
        self.report.corrected = [i for i in self.report.corrected if i.line != row.line]

    # Items -------------------------------------------------------------------------------------

    def _import(self, row: ParsedRow) -> None:
        wanted = {
            **row.fields,
            "department_id": row.department.pk,
            "region_id": row.region.pk,
            "source": SOURCE,
            "is_active": True,
        }
        item = self.items.get(row.task_code)
        if item is not None and _stored(item) == _wanted(wanted, row):
            self.report.unchanged += 1
            return
        is_new = item is None
        if is_new:
            item = ServiceItem(version=0)
        for name, value in wanted.items():
            setattr(item, name, value)
        item.department, item.region = row.department, row.region
        try:
            with transaction.atomic():
                self._write(item, row, is_new=is_new)
        except ValidationError as error:
            messages = "; ".join(
                f"{name}: {' '.join(errors)}" for name, errors in error.message_dict.items()
            )
            self._skip(row, "row", row.task_code, f"refused by the model ({messages})")
            return
        if is_new:
            self.report.created += 1
        else:
            self.report.updated += 1

    def _write(self, item: ServiceItem, row: ParsedRow, *, is_new: bool) -> None:
        """Themes and joint stages first, so that the published version's snapshot has them."""
        if is_new:
            item.save()  # version 0: item_publish below makes it version 1
            ItemTheme = ServiceItem.themes.through
            ItemTheme.objects.bulk_create(
                ItemTheme(serviceitem_id=item.pk, theme_id=theme_id) for theme_id in row.theme_ids
            )
            stages_changed = True
        else:
            if {t.pk for t in item.themes.all()} != set(row.theme_ids):
                item.themes.set(row.theme_ids)
            stored = [(s.department_id, s.stage) for s in sorted(item.joint_stages.all(), key=_pk)]
            stages_changed = stored != row.stages
            if stages_changed:
                JointStage.objects.filter(item=item).delete()
        if stages_changed:
            JointStage.objects.bulk_create(
                JointStage(item=item, department_id=department_id, stage=stage)
                for department_id, stage in row.stages
            )
        item._prefetched_objects_cache = {}
        item_publish(actor=None, item=item, materials=row.materials, note=PUBLISH_NOTE)


def _material_key(values: dict[str, Any]) -> tuple:
    defaults = {"required": True, "copies": 1, "note": "", "issuer_id": None}
    values = {**defaults, **values}
    return tuple(values[key] for key in (*MATERIAL_KEYS, "issuer_id"))


def _stored(item: ServiceItem) -> tuple:
    """What the catalog holds for the item, in the shape ``_wanted`` builds from the feed."""
    fields = {
        name: getattr(item, name)
        for name in (*FEED_FIELDS, "department_id", "region_id", "source", "is_active")
    }
    materials = [
        _material_key({key: getattr(m, key) for key in (*MATERIAL_KEYS, "issuer_id")})
        for m in sorted(item.materials.all(), key=lambda m: (m.sort_order, m.pk))
    ]
    themes = frozenset(t.pk for t in item.themes.all())
    stages = [(s.department_id, s.stage) for s in sorted(item.joint_stages.all(), key=_pk)]
    return fields, materials, themes, stages


def _wanted(fields: dict[str, Any], row: ParsedRow) -> tuple:
    return (
        fields,
        [_material_key(m) for m in row.materials],
        frozenset(row.theme_ids),
        list(row.stages),
    )


def _pk(obj) -> int:
    return obj.pk


def _line(issue: Issue) -> int:
    return issue.line
