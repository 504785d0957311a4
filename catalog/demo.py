"""The demo province's catalog: realistic 浙江 service items, themes and bundles (一件事).

The catalog itself is data, in ``fixtures/demo_catalog.yaml``; this module reads and checks that
file (``load``) and seeds what it describes (``seed``).

Seeding is idempotent. Items are keyed on their implementation code; an item is published through
``item_publish`` (a new version) only when it is new or its content differs from what is seeded
here, so a second run writes nothing at all.

Implementation codes follow the national shape of the real ones (as in the Guangdong feed): the
implementing body's unified social credit code (18 characters, with a valid check character), one
digit for its level, then a 12-digit basic code: province 33, item type, department kind, a
sequence number and a sub-item number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable
from dataclasses import MISSING, astuple, dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml
from django.db import models, transaction

from departments.models import Department, Region
from zheliban.core.identity import uscc_check_char

from .models import Audience, Bundle, BundleItem, LifeEvent, Material, ServiceItem, Theme
from .services import item_publish

T = ServiceItem.ItemType
DATA_FILE = Path(__file__).resolve().parent / "fixtures" / "demo_catalog.yaml"
SEED_NOTE = "demo seed"
SOURCE = "demo"

# Fixed numbers for the code scheme; never reorder them, codes must stay stable.
TYPE_NUMBERS = {
    T.LICENSING: "01",
    T.BENEFIT: "05",
    T.CONFIRMATION: "07",
    T.AWARD: "08",
    T.ADJUDICATION: "09",
    T.OTHER_POWER: "10",
    T.FILING: "11",
    T.PUBLIC_SERVICE: "20",
}
KIND_NUMBERS = {
    "gongan": "01",
    "weijian": "02",
    "renshe": "03",
    "yibao": "04",
    "shichang": "05",
    "shuiwu": "06",
    "minzheng": "07",
    "ziran": "08",
    "zhujian": "09",
    "shengtai": "10",
    "jiaotong": "11",
    "jiaoyu": "12",
    "shangwu": "13",
    "zhengwu": "14",
}
# The data file names item types as words: public_service for T.PUBLIC_SERVICE.
TYPE_WORDS = {name.lower(): T[name].value for name in T.names}
FIELD_TYPES = ("text", "textarea", "number", "date", "choice", "id_number", "uscc", "phone")
DEPARTMENT_CODE = re.compile(r"\d{6}-([a-z]+)")


class DemoDataError(ValueError):
    """The data file is malformed; the message names the entry and what is wrong with it."""


@dataclass(frozen=True)
class ItemSpec:
    key: str
    seq: int
    department: str
    name: str
    item_type: str
    summary: str
    conditions: str
    legal_basis: str
    statutory_days: int | None
    promised_days: int | None
    materials: tuple[dict[str, Any], ...]
    fields: tuple[str, ...]
    themes: tuple[str, ...]
    life_events: tuple[str, ...]
    popularity: int
    sub: int = 0
    main_name: str = ""
    sub_name: str = ""
    for_citizens: bool = True
    for_enterprises: bool = False
    trips: int = 0
    online: bool = True
    mobile: bool = True
    counter: bool = True
    courier: bool = False
    appointment: bool = False
    id_only: bool = False
    fee_fen: int = 0
    fee_note: str = ""
    consult_phone: str = ""
    location: str = ""

    @property
    def region_code(self) -> str:
        return self.department.split("-", 1)[0]

    @property
    def kind(self) -> str:
        return self.department.split("-", 1)[1]

    @property
    def basic_code(self) -> str:
        return (
            f"33{TYPE_NUMBERS[self.item_type]}{KIND_NUMBERS[self.kind]}{self.seq:03d}{self.sub:03d}"
        )

    @property
    def main_code(self) -> str:
        return self.basic_code[:-3] + "000" if self.sub else ""

    @property
    def code(self) -> str:
        region = self.region_code
        level = "1" if region.endswith("0000") else "2" if region.endswith("00") else "3"
        return department_credit_code(self.department) + level + self.basic_code


@dataclass(frozen=True)
class BundleSpec:
    slug: str
    name: str
    audience: str
    life_event: str
    region: str
    summary: str
    popularity: int
    parts: tuple[str, ...]


@dataclass(frozen=True)
class ThemeSpec:
    slug: str
    name: str
    name_en: str
    audience: str


@dataclass(frozen=True)
class FieldSpec:
    label: str
    type: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaterialSpec:
    name: str
    source: str = Material.Source.APPLICANT
    form: str = ""  # by default original when issued, else electronic
    issuer: str | None = None
    required: bool = True
    copies: int = 1
    note: str = ""


@dataclass(frozen=True)
class FileSpec:
    shared_material_note: str
    hotline: str
    department_phones: dict
    themes: list
    form_fields: dict
    items: list
    bundles: list
    common: dict | None = None  # anchored values the entries repeat; nothing to read here


@dataclass(frozen=True)
class DemoCatalog:
    themes: tuple[tuple[str, str, str, str], ...]  # slug, name, English name, audience
    form_fields: dict[str, FieldSpec]
    items: tuple[ItemSpec, ...]
    bundles: tuple[BundleSpec, ...]
    hotline: str
    department_phones: dict[str, str]

    def fields_of(self, spec: ItemSpec) -> list[dict[str, Any]]:
        """The item's form field definitions; a trailing ``?`` on a name marks one optional."""
        result = []
        for raw in spec.fields:
            name = raw.rstrip("?")
            field = self.form_fields[name]
            definition = {
                "name": name,
                "label": field.label,
                "type": field.type,
                "required": not raw.endswith("?"),
            }
            if field.choices:
                definition["choices"] = list(field.choices)
            result.append(definition)
        return result


def department_credit_code(department_code: str) -> str:
    """A stable, well-formed unified social credit code for a demo department (11 = 机关)."""
    digest = int(hashlib.sha256(department_code.encode()).hexdigest(), 16)
    first17 = f"11{department_code[:6]}{digest % 10**9:09d}"
    return first17 + uscc_check_char(first17)


class _Loader(yaml.CSafeLoader):
    """Refuses a name given twice in one entry, where YAML would quietly keep the last."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key} given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load(path: Path | str = DATA_FILE) -> DemoCatalog:
    """The catalog the data file describes; DemoDataError names the first malformed entry."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as stream:
            data = yaml.load(stream, Loader=_Loader)  # noqa: S506 - _Loader is a CSafeLoader
        return _catalog(data)
    except yaml.YAMLError as exc:
        raise DemoDataError(f"{path.name}: not valid YAML: {exc}") from None
    except DemoDataError as exc:
        raise DemoDataError(f"{path.name}: {exc}") from None


def _catalog(data) -> DemoCatalog:
    doc = _record(FileSpec, data, "the file")
    for kind, phone in doc.department_phones.items():
        _one_of(kind, KIND_NUMBERS, "department_phones: department kind")
        _check(phone, "str", f"department_phones: {kind}")
    themes = {}
    for i, entry in enumerate(doc.themes):
        theme = _record(ThemeSpec, entry, _where("theme", i, entry, "slug"))
        _one_of(theme.audience, Audience.values, f"theme {theme.slug}: audience")
        themes[theme.slug] = astuple(theme)
    form_fields = {}
    for name, entry in doc.form_fields.items():
        field = form_fields[name] = _record(FieldSpec, entry, f"form field {name}")
        _one_of(field.type, FIELD_TYPES, f"form field {name}: type")
        if bool(field.choices) != (field.type == "choice"):
            raise DemoDataError(f"form field {name}: choices go with type choice, and only there")
    items: dict[str, ItemSpec] = {}
    codes: dict[str, str] = {}
    for i, entry in enumerate(doc.items):
        where = _where("item", i, entry, "key")
        item = _record(ItemSpec, entry, where)
        _one_of(item.item_type, TYPE_WORDS, f"{where}: item_type")
        _department(item.department, f"{where}: department")
        for slug in item.themes:
            _one_of(slug, themes, f"{where}: theme", listed_in="themes")
        for name in item.fields:
            _one_of(name.rstrip("?"), form_fields, f"{where}: field", listed_in="form_fields")
        if not (0 < item.seq < 1000 and 0 <= item.sub < 1000):
            raise DemoDataError(f"{where}: seq must be 1 to 999 and sub 0 to 999")
        materials = [
            _material(m, f"{where}: material {j + 1}", doc.shared_material_note)
            for j, m in enumerate(item.materials)
        ]
        item = replace(item, item_type=TYPE_WORDS[item.item_type], materials=tuple(materials))
        if item.key in items or item.code in codes:
            other = item.key if item.key in items else codes[item.code]
            raise DemoDataError(f"{where}: the same key or code as item {other}")
        items[item.key] = item
        codes[item.code] = item.key
    bundles = []
    for i, entry in enumerate(doc.bundles):
        bundle = _record(BundleSpec, entry, _where("bundle", i, entry, "slug"))
        _one_of(bundle.audience, Audience.values, f"bundle {bundle.slug}: audience")
        for key in bundle.parts:
            _one_of(key, items, f"bundle {bundle.slug}: part", listed_in="the keys of items")
        bundles.append(bundle)
    return DemoCatalog(
        themes=tuple(themes.values()),
        form_fields=form_fields,
        items=tuple(items.values()),
        bundles=tuple(bundles),
        hotline=doc.hotline,
        department_phones=doc.department_phones,
    )


def _material(entry, where: str, shared_note: str) -> dict[str, Any]:
    """A material as ``item_publish`` takes it; a bare name is one the applicant provides
    electronically."""
    m = _record(MaterialSpec, {"name": entry} if isinstance(entry, str) else entry, where)
    _one_of(m.source, Material.Source.values, f"{where}: source")
    if m.form:
        _one_of(m.form, Material.Form.values, f"{where}: form")
    if m.issuer is not None:
        _department(m.issuer, f"{where}: issuer")
    if m.copies < 1:
        raise DemoDataError(f"{where}: copies must be at least 1")
    issued, shared = m.source == Material.Source.ISSUED, m.source == Material.Source.SHARED
    return {
        "name": m.name,
        "source": m.source,
        "form": m.form or (Material.Form.ORIGINAL if issued else Material.Form.ELECTRONIC),
        "required": m.required,
        "copies": m.copies,
        "note": m.note or (shared_note if shared else ""),
        "issuer": m.issuer,
    }


def _record(cls, entry, where: str):
    """An instance of the dataclass ``cls`` from a mapping of its fields, each value checked."""
    if not isinstance(entry, dict):
        raise DemoDataError(
            f"{where}: expected fields written as name: value, found {_show(entry)}"
        )
    known = {f.name: f for f in fields(cls)}
    if unknown := [str(name) for name in entry if name not in known]:
        raise DemoDataError(f"{where}: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    if missing := [n for n, f in known.items() if f.default is MISSING and n not in entry]:
        raise DemoDataError(f"{where}: missing {', '.join(missing)}")
    for name, value in entry.items():
        _check(value, known[name].type, f"{where}: {name}")
    return cls(
        **{
            name: tuple(value) if isinstance(value, list) else value
            for name, value in entry.items()
        }
    )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Field annotations (strings, as this module postpones them): a check and what it asks for.
_TYPES = {
    "str": (lambda v: isinstance(v, str), "text"),
    "int": (_is_int, "a whole number"),
    "int | None": (lambda v: v is None or _is_int(v), "a whole number or null"),
    "str | None": (lambda v: v is None or isinstance(v, str), "text"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "tuple[str, ...]": (
        lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "a list of names",
    ),
    "tuple[dict[str, Any], ...]": (lambda v: isinstance(v, list), "a list"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "dict": (lambda v: isinstance(v, dict), "entries written as name: value"),
    "dict | None": (lambda v: v is None or isinstance(v, dict), "entries written as name: value"),
}


def _check(value, annotation: str, where: str) -> None:
    check, wanted = _TYPES[annotation]
    if not check(value):
        raise DemoDataError(f"{where} must be {wanted}, not {_show(value)}")


def _one_of(value, allowed, where: str, listed_in: str = "") -> None:
    """Refuses a value not allowed; a long list of the allowed ones is named by ``listed_in``."""
    if value not in allowed:
        choices = listed_in or f"one of {', '.join(map(str, allowed))}"
        raise DemoDataError(f"{where}: {_show(value)} is not {'in ' if listed_in else ''}{choices}")


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:56] + " ..."


def _department(code: str, where: str) -> None:
    if not isinstance(code, str) or not (match := DEPARTMENT_CODE.fullmatch(code)):
        raise DemoDataError(f"{where}: {code!r} is not a department code like 330100-weijian")
    _one_of(match[1], KIND_NUMBERS, f"{where}: {code}: department kind")


def _where(what: str, index: int, entry, name_field: str) -> str:
    """How a message names an entry: by its key or slug, else by its place in the list."""
    name = entry.get(name_field) if isinstance(entry, dict) else None
    return f"{what} {name}" if isinstance(name, str) else f"{what} #{index + 1}"


CATALOG = load()
THEMES = CATALOG.themes
ITEMS = CATALOG.items
BUNDLES = CATALOG.bundles


def seed(*, stdout) -> None:
    with transaction.atomic():
        themes = _seed_themes()
        items, created, republished = _seed_items(themes)
        parts = _seed_bundles(items)
    stdout.write(
        f"Catalog: {len(items)} demo items ({created} new, {republished} republished), "
        f"{len(BUNDLES)} bundles of {parts} items, {len(themes)} themes."
    )


def _seed_themes() -> dict[str, Theme]:
    """Our themes by slug; an importer may already have made one of the same name, then reuse it."""
    themes = {}
    for order, (slug, name, name_en, audience) in enumerate(THEMES):
        theme = Theme.objects.filter(slug=slug).first()
        if theme is None:
            theme = Theme.objects.filter(name=name).first()
            if theme is not None:  # made by someone else: fill in only what is missing
                if not theme.name_en:
                    theme.name_en = name_en
                    theme.save(update_fields=["name_en"])
                themes[slug] = theme
                continue
            theme = Theme(slug=slug)
        _save_if_changed(
            theme, name=name, name_en=name_en, audience=audience, sort_order=(order + 1) * 10
        )
        themes[slug] = theme
    return themes


def _save_if_changed(obj, **values) -> bool:
    """Set the values and save, or leave the row untouched when it already holds them."""
    changed = []
    for field, value in values.items():
        if isinstance(value, models.Model):
            current = getattr(obj, f"{field}_id")
            value = value.pk
        else:
            current = getattr(obj, field)
        if current != value:
            changed.append(field)
    if obj.pk is not None and not changed:
        return False
    for field in changed:
        setattr(obj, field, values[field])
    if obj.pk is None:
        obj.save()
    else:
        if hasattr(obj, "updated_at"):
            changed.append("updated_at")
        obj.save(update_fields=changed)
    return True


def _seed_items(themes: dict[str, Theme]) -> tuple[dict[str, ServiceItem], int, int]:
    codes = {spec.department for spec in ITEMS}
    codes |= {m["issuer"] for spec in ITEMS for m in spec.materials if m["issuer"]}
    departments = {
        d.code: d for d in Department.objects.filter(code__in=codes).select_related("region")
    }
    if missing := codes - departments.keys():
        raise RuntimeError(f"The demo departments are not seeded: {sorted(missing)}")
    life_events = {e.slug: e for e in LifeEvent.objects.all()}
    if missing := {s for spec in ITEMS for s in spec.life_events} - life_events.keys():
        raise RuntimeError(f"Life events missing (catalog migration 0002): {sorted(missing)}")

    existing = {
        item.code: item
        for item in ServiceItem.objects.filter(
            code__in=[spec.code for spec in ITEMS]
        ).prefetch_related("materials", "themes", "life_events")
    }
    items: dict[str, ServiceItem] = {}
    created = republished = 0
    for spec in ITEMS:
        department = departments[spec.department]
        values = _item_values(spec, department)
        materials = [
            {**m, "issuer": departments[m["issuer"]] if m["issuer"] else None}
            for m in spec.materials
        ]
        theme_ids = {themes[slug].pk for slug in spec.themes}
        event_ids = {life_events[slug].pk for slug in spec.life_events}
        item = existing.get(spec.code)
        if item is None:
            # Saved unpublished (version 0) first so that themes are in place when version 1
            # is snapshotted and indexed.
            item = ServiceItem(
                code=spec.code, popularity=spec.popularity, source=SOURCE, version=0, **values
            )
            item.save()
            item.themes.set(theme_ids)
            item.life_events.set(event_ids)
            item_publish(actor=None, item=item, materials=materials, note=SEED_NOTE)
            created += 1
        else:
            if {e.pk for e in item.life_events.all()} != event_ids:
                item.life_events.set(event_ids)  # not part of a version
            if _differs(item, values, materials, theme_ids):
                for field, value in values.items():
                    setattr(item, field, value)
                item.themes.set(theme_ids)
                item_publish(actor=None, item=item, materials=materials, note=SEED_NOTE)
                republished += 1
        items[spec.key] = item
    return items, created, republished


def _item_values(spec: ItemSpec, department: Department) -> dict[str, Any]:
    return {
        "basic_code": spec.basic_code,
        "main_code": spec.main_code,
        "main_name": spec.main_name,
        "sub_name": spec.sub_name,
        "name": spec.name,
        "item_type": spec.item_type,
        "for_citizens": spec.for_citizens,
        "for_enterprises": spec.for_enterprises,
        "department": department,
        "region": department.region,
        "summary": spec.summary,
        "legal_basis": spec.legal_basis,
        "acceptance_conditions": spec.conditions,
        "statutory_days": spec.statutory_days,
        "promised_days": spec.promised_days,
        "trips": spec.trips,
        "online": spec.online,
        "mobile": spec.mobile,
        "counter": spec.counter,
        "courier": spec.courier,
        "appointment": spec.appointment,
        "id_only": spec.id_only,
        "fee_fen": spec.fee_fen,
        "fee_note": spec.fee_note,
        "consult_phone": spec.consult_phone
        or CATALOG.department_phones.get(spec.kind, CATALOG.hotline),
        "complaint_phone": CATALOG.hotline,
        "location": spec.location
        or f"{department.region.name}民生服务中心一楼综合受理窗口（{department.name}）",
        "online_url": "",
        "form_fields": CATALOG.fields_of(spec),
    }


MATERIAL_KEYS = ("name", "source", "form", "required", "copies", "note")


def _differs(item: ServiceItem, values, materials, theme_ids) -> bool:
    for field, value in values.items():
        if field in ("department", "region"):
            if getattr(item, f"{field}_id") != value.pk:
                return True
        elif getattr(item, field) != value:
            return True
    if {t.pk for t in item.themes.all()} != theme_ids:
        return True
    current = [(*(getattr(m, k) for k in MATERIAL_KEYS), m.issuer_id) for m in item.materials.all()]
    wanted = [
        (*(m[k] for k in MATERIAL_KEYS), m["issuer"].pk if m["issuer"] else None) for m in materials
    ]
    return current != wanted


def _seed_bundles(items: dict[str, ServiceItem]) -> int:
    regions = {r.code: r for r in Region.objects.filter(code__in={b.region for b in BUNDLES})}
    life_events = {
        e.slug: e for e in LifeEvent.objects.filter(slug__in={b.life_event for b in BUNDLES})
    }
    total = 0
    for spec in BUNDLES:
        bundle = Bundle.objects.filter(slug=spec.slug).first() or Bundle(
            slug=spec.slug, popularity=spec.popularity
        )
        _save_if_changed(
            bundle,
            name=spec.name,
            audience=spec.audience,
            summary=spec.summary,
            life_event=life_events[spec.life_event],
            region=regions[spec.region],
            trips=0,
        )
        wanted = [items[key].pk for key in spec.parts]
        current = {part.item_id: part for part in bundle.parts.all()}
        bundle.parts.exclude(item_id__in=wanted).delete()
        for order, item_id in enumerate(wanted):
            part = current.get(item_id)
            if part is None:
                BundleItem.objects.create(bundle=bundle, item_id=item_id, sort_order=order)
            elif part.sort_order != order:
                part.sort_order = order
                part.save(update_fields=["sort_order"])
        total += len(wanted)
    return total
