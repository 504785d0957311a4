"""What the government already holds for an application: answers the registers give, and
documents fetched from them, each through the grant that lets the handling department read it.

``prepare`` is the one function the apply page, the API and the submission read: it marks each
field the registers answer (shown filled with its source, never typed) and each material a
department holds (fetched at submission, issued by a step of the case, or the citizen's
e-licence), and says why a material the catalog calls shared is asked for after all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import ServiceItem
from departments.models import DataGrant, Department
from registers.models import Record
from registers.rules import evaluate, parse_rule, plain
from registers.schema import REGISTERS
from registers.selectors import Dossier, dossier_for, facts_for

from .forms import PARENT_FIELDS, ROLE_FIELD, ROLES, FieldSpec, FormSpec, Held

# A form field the registers answer: (the dossier's record, the register's field).
REGISTER_FIELDS: dict[str, tuple[str, str]] = {
    "applicant_name": ("person", "name"),
    "applicant_id_number": ("person", "id_number"),
    "hukou_address": ("person", "hukou_address"),
    "mother_name": ("birth", "mother_name"),
    "mother_id_number": ("birth", "mother_id_number"),
    "father_name": ("birth", "father_name"),
    "father_id_number": ("birth", "father_id_number"),
    "baby_gender": ("birth", "sex"),
    "birth_date": ("birth", "born_at"),
    "birth_hospital": ("birth", "hospital"),
    "partner_name": ("spouse", "name"),
    "partner_id_number": ("spouse", "id_number"),
}


@dataclass(frozen=True)
class Document:
    """A kind of document a register holds, known by words in a material's name."""

    code: str  # the field a data-sharing grant names to let a department fetch it
    words: tuple[str, ...]
    record: str  # the dossier's record that is the document
    needs: str = ""  # a field the record must have filled (a certificate number once issued)
    issued_as: str = ""  # the value a workflow step gives when it issues the document


DOCUMENTS = (
    Document(
        "birth_medical_certificate",
        ("出生医学证明",),
        "birth",
        needs="certificate_no",
        issued_as="birth_certificate_no",
    ),
    Document("delivery_record", ("分娩",), "birth"),
    Document("vaccination_record", ("接种记录",), "birth", needs="first_doses"),
    Document("household_register", ("户口簿",), "person"),
    # A newborn's hukou record exists once the hukou step has registered the baby.
    Document("newborn_hukou_record", ("新生儿户籍",), "newborn", issued_as="citizen_id_number"),
    Document("hukou_record", ("户籍信息", "户籍或居住证信息", "户籍证明"), "person"),
    Document("marriage_certificate", ("结婚证",), "marriage"),
    Document("id_card", ("居民身份证",), "person"),
    Document("social_insurance", ("社会保险", "社保"), "social"),
    Document("medical_insurance", ("医疗保险", "医保"), "medical"),
)


def document_for(material_name: str) -> Document | None:
    return next((d for d in DOCUMENTS if any(w in material_name for w in d.words)), None)


@dataclass
class HeldValue:
    value: str
    record: Record
    source: str  # "来自公安人口库"


@dataclass
class Fetch:
    """A material to attach at submission, and where it comes from."""

    material: str
    how: str  # a ``Held`` value
    source: str
    department: Department | None
    record: Record | None = None
    document: str = ""


@dataclass(frozen=True)
class Read:
    owner: int
    consumer: int
    field: str
    grant: int


@dataclass(frozen=True)
class Verdict:
    """One eligibility rule as it stands for a citizen: held (True), not held (False) or not
    known from the registers (None, left to the department)."""

    rule: str
    holds: bool | None
    says: str
    instead: str


def eligibility_words(compiled: dict[str, Any]) -> list[dict[str, str]]:
    """The workflow's eligibility rules as the guide states them."""
    return [
        {
            "says": entry.get("says") or plain(parse_rule(entry["rule"])),
            "instead": entry.get("instead") or "",
        }
        for entry in compiled.get("eligible") or []
    ]


def eligibility(compiled: dict[str, Any], dossier: Dossier, *, region_code: str) -> list[Verdict]:
    """The workflow's eligibility rules evaluated on what the registers hold (no query)."""
    rules = compiled.get("eligible") or []
    if not rules:
        return []
    facts = facts_for(dossier, region_code=region_code)
    verdicts = []
    for entry in rules:
        parsed = parse_rule(entry["rule"])
        verdicts.append(
            Verdict(
                rule=entry["rule"],
                holds=evaluate(parsed, facts),
                says=entry.get("says") or plain(parsed),
                instead=entry.get("instead") or "",
            )
        )
    return verdicts


@dataclass
class Prepared:
    spec: FormSpec
    dossier: Dossier
    values: dict[str, HeldValue] = field(default_factory=dict)
    fetches: list[Fetch] = field(default_factory=list)
    role: str = ""  # the applicant's role the registers show (mother, father), if any
    verdicts: list[Verdict] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)
    """Each read another department makes at submission, with the grant allowing it."""

    @property
    def refusals(self) -> list[Verdict]:
        """The rules the registers show the citizen does not meet."""
        return [v for v in self.verdicts if v.holds is False]

    def answers(self) -> dict[str, str]:
        return {name: v.value for name, v in self.values.items()}


def source_label(record: Record) -> str:
    return _("From the %(register)s (%(owner)s)") % {
        "register": REGISTERS[record.register].label,
        "owner": record.owner.name,
    }


def _value(record: Record, key: str) -> str:
    raw = record.data.get(key)
    if raw in (None, ""):
        return ""
    if key == "born_at":
        return timezone.localtime(dt.datetime.fromisoformat(str(raw))).date().isoformat()
    return str(raw)


def _grants(consumers: Iterable[int]) -> dict[tuple[int, int], dict[str, int]]:
    """For each (owner, consumer) pair, the fields the consumer may view today and the grant
    that allows each (one query)."""
    today = timezone.localdate()
    out: dict[tuple[int, int], dict[str, int]] = {}
    for pk, owner, consumer, fields in (
        DataGrant.objects.filter(
            consumer_id__in=set(consumers), mode=DataGrant.Mode.VIEW, is_active=True
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gte=today))
        .order_by("id")
        .values_list("id", "owner_id", "consumer_id", "fields")
    ):
        allowed = out.setdefault((owner, consumer), {})
        for name in fields or []:
            allowed.setdefault(name, pk)
    return out


def prepare(
    spec: FormSpec,
    *,
    user,
    items: list[ServiceItem],
    step_departments: Iterable[int] = (),
    compiled: dict[str, Any] | None = None,
    region_code: str = "",
) -> Prepared:
    """Mark on ``spec`` what the registers answer and hold for ``user`` (changes ``spec``).

    A field is answered when every department whose item asks it may read it (its own record,
    or a view grant naming the field). A material is fetched when the register holds it and
    every department asking it may; issued in the case when its issuer handles a step of the
    workflow; else the citizen is asked, and told why."""
    dossier = dossier_for(user) if getattr(user, "is_authenticated", False) else Dossier("")
    prepared = Prepared(spec=spec, dossier=dossier, role=dossier.role)
    prepared.verdicts = eligibility(compiled or {}, dossier, region_code=region_code)
    field_depts: dict[str, set[int]] = {}
    material_depts: dict[str, set[int]] = {}
    for item in items:
        for raw in item.form_fields or []:
            field_depts.setdefault(str(raw.get("name", "")), set()).add(item.department_id)
        for material in item.materials.all():
            material_depts.setdefault(material.name.strip(), set()).add(item.department_id)
    grants = _grants({d for ds in (*field_depts.values(), *material_depts.values()) for d in ds})

    def readable(record: Record, name: str, consumers: set[int]) -> bool:
        return all(
            c == record.owner_id or name in grants.get((record.owner_id, c), {}) for c in consumers
        )

    def note_reads(record: Record, name: str, consumers: set[int]) -> None:
        for c in sorted(consumers):
            read = Read(record.owner_id, c, name, grants.get((record.owner_id, c), {}).get(name, 0))
            if c != record.owner_id and read not in prepared.reads:
                prepared.reads.append(read)

    for f in spec.fields:
        where = REGISTER_FIELDS.get(f.name)
        record = getattr(dossier, where[0]) if where else None
        if record is None or where is None:
            continue
        value = _value(record, where[1])
        consumers = field_depts.get(f.name, set())
        if not value or not readable(record, f.name, consumers):
            continue
        f.source = source_label(record)
        prepared.values[f.name] = HeldValue(value=value, record=record, source=f.source)
        note_reads(record, f.name, consumers)
    _role_field(spec, prepared)

    steps = set(step_departments)
    issuers = {
        m.name.strip(): m.issuer for item in items for m in item.materials.all() if m.issuer_id
    }
    for m in spec.materials:
        document = document_for(m.name)
        record = getattr(dossier, document.record, None) if document else None
        if record is not None and document is not None and document.needs:
            record = record if record.data.get(document.needs) else None
        consumers = material_depts.get(m.name, set())
        if (
            record is not None
            and document is not None
            and readable(record, document.code, consumers)
        ):
            m.held, m.issuer, m.reason = Held.DEPARTMENT, record.owner.name, ""
            m.source = source_label(record)
            prepared.fetches.append(
                Fetch(m.name, Held.DEPARTMENT, m.source, record.owner, record, document.code)
            )
            note_reads(record, document.code, consumers)
            continue
        issuer = issuers.get(m.name)
        # Issued in the case: by a department handling a step, and, for a document a register
        # keeps, only when a step of this workflow gives it (else the register's lack is told).
        issued_here = document is None or document.issued_as in spec.produced
        if m.held == Held.DEPARTMENT and issuer is not None and issuer.pk in steps and issued_here:
            m.held, m.issuer = Held.STEP, issuer.name
            m.source = _("Issued by %(department)s during this application") % {
                "department": issuer.name
            }
            prepared.fetches.append(Fetch(m.name, Held.STEP, m.source, issuer))
            continue
        if m.held == Held.LICENCE:
            m.source = _("Your real-name identity and e-licences")
            prepared.fetches.append(Fetch(m.name, Held.LICENCE, m.source, None))
            continue
        if m.held == Held.DEPARTMENT:
            # The catalog says a department holds it, but no register has it for this citizen
            # (or no grant lets the handling department read it): ask, and say why.
            m.held, m.source = "", ""
            m.reason = (
                _("No record of it for you was found in the %(register)s, so please upload it.")
                % {"register": REGISTERS[_register_of(document)].label}
                if document is not None
                else _("No department could provide it for you, so please upload it.")
            )
    return prepared


def _register_of(document: Document) -> str:
    return {
        "birth": "birth",
        "person": "population",
        "newborn": "population",
        "marriage": "marriage",
        "spouse": "population",
        "social": "social_insurance",
        "medical": "medical_insurance",
    }[document.record]


def _role_field(spec: FormSpec, prepared: Prepared) -> None:
    """Ask whether the applicant is the mother, the father or a guardian when the form asks for
    both parents and no register says which; the answer fills that parent from the profile."""
    names = {f.name for f in spec.fields if not f.confirmed}
    asks_both = all(names & set(pair) for pair in PARENT_FIELDS.values())
    if not asks_both or prepared.role or spec.field(ROLE_FIELD) is not None:
        return
    spec.fields.insert(
        0,
        FieldSpec(
            name=ROLE_FIELD,
            label=str(_("You are the baby's")),
            type="choice",
            required=False,
            choices=list(ROLES.values()),
        ),
    )
