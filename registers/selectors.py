"""Reads of the registers: what they hold about one citizen (a fixed two queries), and the facts
eligibility rules read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from .models import Record

Kind = Record.Kind


@dataclass
class Dossier:
    """What the registers hold about one citizen and the people their applications are about."""

    id_number: str
    person: Record | None = None
    birth: Record | None = None  # the newest birth a hospital registered to them as a parent
    mother: Record | None = None
    father: Record | None = None
    marriage: Record | None = None
    spouse: Record | None = None
    social: Record | None = None
    medical: Record | None = None
    household: list[Record] = field(default_factory=list)

    @property
    def records(self) -> list[Record]:
        found = [
            self.person,
            self.birth,
            self.mother,
            self.father,
            self.marriage,
            self.spouse,
            self.social,
            self.medical,
            *self.household,
        ]
        return list({r.pk: r for r in found if r is not None}.values())

    @property
    def role(self) -> str:
        """``mother`` or ``father`` when the birth record names the citizen as a parent."""
        if self.birth is None:
            return ""
        if self.birth.subject == self.id_number:
            return "mother"
        if self.birth.party == self.id_number:
            return "father"
        return ""


def dossier_for(user) -> Dossier:
    """The records about ``user`` (two queries; none for someone without an ID number)."""
    id_number = getattr(user, "id_number", None) or ""
    dossier = Dossier(id_number=id_number)
    if not id_number:
        return dossier
    births: list[Record] = []
    marriages: list[Record] = []
    for record in Record.objects.filter(Q(subject=id_number) | Q(party=id_number)).select_related(
        "owner"
    ):
        if record.register == Kind.POPULATION:
            dossier.person = record
        elif record.register == Kind.BIRTH:
            births.append(record)
        elif record.register == Kind.MARRIAGE:
            marriages.append(record)
        elif record.register == Kind.SOCIAL_INSURANCE:
            dossier.social = record
        elif record.register == Kind.MEDICAL_INSURANCE:
            dossier.medical = record
    if births:
        dossier.birth = max(births, key=lambda r: (r.data.get("born_at", ""), r.pk))
    if marriages:
        dossier.marriage = max(marriages, key=lambda r: (r.data.get("registered_on", ""), r.pk))
    wanted: set[str] = set()
    if dossier.birth is not None:
        wanted |= {dossier.birth.subject, dossier.birth.party}
    spouse_id = ""
    if dossier.marriage is not None:
        m = dossier.marriage
        spouse_id = m.party if m.subject == id_number else m.subject
        wanted.add(spouse_id)
    wanted.discard("")
    household = dossier.person.household if dossier.person is not None else ""
    condition = Q(subject__in=wanted) if wanted else Q(pk__in=[])
    if household:
        condition |= Q(household=household)
    if wanted or household:
        people = {
            r.subject: r
            for r in Record.objects.filter(condition, register=Kind.POPULATION).select_related(
                "owner"
            )
        }
        if dossier.person is not None:
            people[id_number] = dossier.person
        if dossier.birth is not None:
            dossier.mother = people.get(dossier.birth.subject)
            dossier.father = people.get(dossier.birth.party)
        dossier.spouse = people.get(spouse_id)
        dossier.household = sorted(
            (r for r in people.values() if household and r.household == household),
            key=lambda r: r.data.get("birth_date", ""),
        )
    return dossier


def record_visible_to(user, record: Record) -> bool:
    """Whether a citizen may see ``record``: it is about them, their household or their baby."""
    return any(r.pk == record.pk for r in dossier_for(user).records)


def city_of(code: str) -> str:
    return code[:4] + "00" if len(code) == 6 else ""


def province_of(code: str) -> str:
    return code[:2] + "0000" if len(code) == 6 else ""


def _person_facts(record: Record | None, dossier: Dossier, *, today: dt.date) -> dict[str, Any]:
    if record is None:
        # Named by a record but not in the province's population register: a hukou elsewhere.
        return {"registered": False, "hukou_region": "", "hukou_city": "", "hukou_province": ""}
    data = record.data
    region = str(data.get("hukou_region", ""))
    facts: dict[str, Any] = {
        "registered": True,
        "hukou_region": region,
        "hukou_city": city_of(region),
        "hukou_province": province_of(region),
        "sex": data.get("sex", ""),
    }
    try:
        born = dt.date.fromisoformat(str(data.get("birth_date", "")))
    except ValueError:
        born = None
    if born is not None:
        facts["age_years"] = (
            today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        )
    if record is dossier.person:
        facts["social_insured"] = dossier.social is not None
        facts["medical_insured"] = dossier.medical is not None
    return facts


def facts_for(dossier: Dossier, *, region_code: str) -> dict[str, dict[str, Any] | None]:
    """The facts eligibility rules read (``registers.rules.FACTS``); a subject the registers do
    not hold is None, so rules about it are unknown rather than false."""
    today = timezone.localdate()
    facts: dict[str, dict[str, Any] | None] = {
        "region": {
            "code": region_code,
            "city": city_of(region_code),
            "province": province_of(region_code),
        },
    }
    applicant = _person_facts(dossier.person, dossier, today=today) if dossier.person else None
    if applicant is not None:
        applicant["is_parent"] = bool(dossier.role)
        applicant["married"] = dossier.marriage is not None
    facts["applicant"] = applicant
    birth = dossier.birth
    if birth is not None:
        born_at = dt.datetime.fromisoformat(birth.data["born_at"])
        facts["baby"] = {
            "registered": True,
            "age_days": (today - timezone.localtime(born_at).date()).days,
            "sex": birth.data.get("sex", ""),
            "has_certificate": bool(birth.data.get("certificate_no")),
        }
        # A parent the birth record names but the population register does not hold (another
        # province's hukou) is known not to be registered here.
        facts["mother"] = _person_facts(dossier.mother, dossier, today=today)
        facts["father"] = (
            _person_facts(dossier.father, dossier, today=today) if birth.party else None
        )
    else:
        facts["baby"] = facts["mother"] = facts["father"] = None
    if dossier.marriage is not None:
        facts["spouse"] = _person_facts(dossier.spouse, dossier, today=today)
    else:
        facts["spouse"] = None
    return facts
