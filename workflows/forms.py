"""Application forms generated from the item definitions.

Across a bundle each field is asked once (the first item that asks it gives its label; it is
required when any item requires it); fields a step of the workflow produces are never asked;
answers are prefilled from the profile and the citizen's e-licences; a material is asked for only
when no department already holds it.

A submitted application keeps the form it was filed with (``FormSpec.to_dict``, on
``Application.form_spec``); its pages, its API and its corrections read that, never the catalog as
it is now.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from catalog.models import Material, ServiceItem
from workflows.errors import WorkflowsErrorCode
from zheliban.core.identity import validate_id_number, validate_uscc
from zheliban.core.uploads import CheckedFileField

MAX_TEXT = 200
MAX_TEXTAREA = 2000

# Profile attributes that answer a field without the citizen typing it.
PROFILE_FIELDS = {
    "applicant_name": "real_name",
    "applicant_id_number": "id_number",
    "contact_phone": "phone",
    "legal_rep_name": "real_name",
    "legal_rep_id_number": "id_number",
}

phone_validator = RegexValidator(
    r"^(1\d{10}|0\d{2,3}-?\d{7,8})$",
    _("Enter an 11-digit mobile number or a landline number with its area code."),
    code=WorkflowsErrorCode.PHONE,
)


def _id_number(value: str) -> None:
    validate_id_number(value)


def _uscc(value: str) -> None:
    validate_uscc(value)


OWN_NAME_FIELDS = {"applicant_name", "legal_rep_name"}


def input_hints(name: str, kind: str) -> dict[str, str]:
    """``autocomplete`` and ``inputmode`` for a field, so a phone offers the right keyboard and
    the browser fills only the citizen's own details."""
    if kind == "phone":
        return {"autocomplete": "tel", "inputmode": "tel"}
    if kind in ("id_number", "uscc"):
        return {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
    if kind == "number":
        return {"inputmode": "decimal"}
    if name.endswith("_address"):
        return {"autocomplete": "street-address"}
    if name.endswith("_name") and kind == "text":
        return {"autocomplete": "name" if name in OWN_NAME_FIELDS else "off"}
    return {}


@dataclass
class FieldSpec:
    name: str
    label: str
    type: str = "text"
    required: bool = True
    choices: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    source: str = ""  # where the value came from when a register gave it (never typed)

    @property
    def confirmed(self) -> bool:
        return bool(self.source)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "choices": list(self.choices),
            "items": list(self.items),
        }
        if self.source:
            out["source"] = self.source
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldSpec:
        return cls(
            name=str(data["name"]),
            label=str(data.get("label") or data["name"]),
            type=str(data.get("type") or "text"),
            required=bool(data.get("required", True)),
            choices=[str(c) for c in data.get("choices") or []],
            items=[str(i) for i in data.get("items") or []],
            source=str(data.get("source") or ""),
        )

    def form_field(self, *, initial: Any = None) -> forms.Field:
        made = self._form_field(initial=initial)
        made.widget.attrs.update(input_hints(self.name, self.type))
        return made

    def _form_field(self, *, initial: Any = None) -> forms.Field:
        common: dict[str, Any] = {"label": self.label, "required": self.required}
        if initial not in (None, ""):
            common["initial"] = initial
        kind = self.type
        if kind == "date":
            return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        if kind == "number":
            return forms.DecimalField(min_value=0, max_digits=14, decimal_places=2, **common)
        if kind == "choice":
            return forms.ChoiceField(choices=[("", "—")] + [(c, c) for c in self.choices], **common)
        if kind == "textarea":
            return forms.CharField(max_length=MAX_TEXTAREA, widget=forms.Textarea, **common)
        if kind == "id_number":
            return forms.CharField(
                max_length=18, min_length=18, validators=[_id_number], strip=True, **common
            )
        if kind == "uscc":
            return forms.CharField(
                max_length=18, min_length=18, validators=[_uscc], strip=True, **common
            )
        if kind == "phone":
            return forms.CharField(max_length=20, validators=[phone_validator], **common)
        return forms.CharField(max_length=MAX_TEXT, **common)


class Held:
    """Why a material is not asked for: a department holds it, or the citizen's e-licence."""

    DEPARTMENT = "department"
    LICENCE = "licence"
    STEP = "step"  # issued by a department handling a step of the same case


@dataclass
class MaterialSpec:
    key: str
    name: str
    required: bool
    held: str = ""  # a ``Held`` value when the material is not asked for
    issuer: str = ""  # the department holding it, when the item names one
    items: list[str] = field(default_factory=list)
    source: str = ""  # where it comes from, in words, when it is not asked for
    reason: str = ""  # why it is asked for although the catalog says a department holds it

    @property
    def asked(self) -> bool:
        return not self.held

    @property
    def held_by(self) -> str:
        """Who holds it, in the page's language; empty when it is asked for."""
        if self.held in (Held.DEPARTMENT, Held.STEP):
            return self.issuer or str(_("a department"))
        if self.held == Held.LICENCE:
            return str(_("your e-licence"))
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "required": self.required,
            "held": self.held,
            "issuer": self.issuer,
            "items": list(self.items),
            **({"source": self.source} if self.source else {}),
            **({"reason": self.reason} if self.reason else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaterialSpec:
        return cls(
            key=str(data.get("key") or material_key(str(data["name"]))),
            name=str(data["name"]),
            required=bool(data.get("required", True)),
            held=str(data.get("held") or ""),
            issuer=str(data.get("issuer") or ""),
            items=[str(i) for i in data.get("items") or []],
            source=str(data.get("source") or ""),
            reason=str(data.get("reason") or ""),
        )


@dataclass
class SourceSpec:
    """An item a form was built from, with the version of its guide then published (0: none)."""

    id: int
    code: str
    name: str
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name, "version": self.version}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceSpec:
        return cls(
            id=int(data["id"]),
            code=str(data["code"]),
            name=str(data.get("name") or ""),
            version=int(data.get("version") or 0),
        )


@dataclass
class FormSpec:
    fields: list[FieldSpec]
    materials: list[MaterialSpec]
    produced: set[str] = field(default_factory=set)
    items: list[SourceSpec] = field(default_factory=list)

    @property
    def asked_materials(self) -> list[MaterialSpec]:
        return [m for m in self.materials if m.asked]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON, exactly as ``from_dict`` reads it back."""
        return {
            "items": [i.to_dict() for i in self.items],
            "fields": [f.to_dict() for f in self.fields],
            "materials": [m.to_dict() for m in self.materials],
            "produced": sorted(self.produced),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FormSpec:
        return cls(
            fields=[FieldSpec.from_dict(f) for f in data.get("fields") or []],
            materials=[MaterialSpec.from_dict(m) for m in data.get("materials") or []],
            produced={str(p) for p in data.get("produced") or []},
            items=[SourceSpec.from_dict(i) for i in data.get("items") or []],
        )


# Asked when the form names both parents and no register says which one the applicant is; the
# answer fills that parent's name and ID number from the applicant's account.
ROLE_FIELD = "applicant_role"
ROLES = {"mother": "母亲", "father": "父亲", "guardian": "监护人"}
PARENT_FIELDS = {
    "mother": ("mother_name", "mother_id_number"),
    "father": ("father_name", "father_id_number"),
}
PARENT_FIELD_NAMES = frozenset(n for pair in PARENT_FIELDS.values() for n in pair)


def material_key(name: str) -> str:
    """A stable form-field name for a material name."""
    return "m_" + hashlib.sha256(name.strip().encode()).hexdigest()[:10]


def build_form_spec(
    items: Iterable[ServiceItem],
    *,
    produced: Iterable[str] = (),
    held_materials: Iterable[str] = (),
) -> FormSpec:
    """Merge the items' fields and materials. ``items`` must have their materials prefetched
    (with issuers). ``held_materials`` are names of documents the citizen holds as e-licences."""
    produced_set = set(produced)
    held = [h for h in held_materials if h]
    fields: dict[str, FieldSpec] = {}
    materials: dict[str, MaterialSpec] = {}
    sources: list[SourceSpec] = []
    for item in items:
        sources.append(
            SourceSpec(id=item.pk, code=item.code, name=item.name, version=item.version or 0)
        )
        for raw in item.form_fields or []:
            name = str(raw.get("name", "")).strip()
            if not name or name in produced_set or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                continue
            spec = fields.get(name)
            if spec is None:
                spec = fields[name] = FieldSpec(
                    name=name,
                    label=str(raw.get("label") or name),
                    type=str(raw.get("type") or "text"),
                    required=bool(raw.get("required", True)),
                    choices=list(raw.get("choices") or []),
                )
            else:
                spec.required = spec.required or bool(raw.get("required", True))
            spec.items.append(item.name)
        for material in item.materials.all():
            name = material.name.strip()
            spec_m = materials.get(name)
            why, issuer = "", ""
            if material.source != Material.Source.APPLICANT:
                why, issuer = Held.DEPARTMENT, material.issuer.name if material.issuer_id else ""
            elif any(h in name for h in held):
                why = Held.LICENCE
            if spec_m is None:
                materials[name] = MaterialSpec(
                    key=material_key(name),
                    name=name,
                    required=material.required,
                    held=why,
                    issuer=issuer,
                    items=[item.name],
                )
            else:
                spec_m.required = spec_m.required or material.required
                if not why:
                    spec_m.held, spec_m.issuer = "", ""
                spec_m.items.append(item.name)
    return FormSpec(
        fields=list(fields.values()),
        materials=list(materials.values()),
        produced=produced_set,
        items=sources,
    )


def prefill(spec: FormSpec, *, user, licences: dict[str, str]) -> dict[str, Any]:
    """Answers known before the citizen types: profile first, then e-licences."""
    values: dict[str, Any] = {}
    for f in spec.fields:
        attr = PROFILE_FIELDS.get(f.name)
        value = getattr(user, attr, "") if attr else ""
        if not value:
            value = licences.get(f.name, "")
        if value:
            values[f.name] = value
    return values


class ApplicationForm(forms.Form):
    """The generated form; ``only`` restricts it to some fields (a correction asks only those)."""

    def __init__(
        self,
        *args: Any,
        spec: FormSpec,
        initial_data: dict[str, Any] | None = None,
        only: Iterable[str] | None = None,
        require_all: bool = True,
        existing_materials: Iterable[str] = (),
        applicant=None,
        confirmed_values: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.require_all = require_all
        self.spec = spec
        wanted = set(only) if only is not None else None
        existing = set(existing_materials)
        initial_data = initial_data or {}
        self.applicant = applicant
        choosing_role = spec.field(ROLE_FIELD) is not None and wanted is None
        self.confirmed_values = confirmed_values or {}
        # "Same as above": a later address may copy the first one (typed or confirmed).
        self.same_as: dict[str, FieldSpec] = {}
        first_address: FieldSpec | None = None
        for f in spec.fields:
            is_address = f.name.endswith("_address") and f.type == "text"
            if f.confirmed or (wanted is not None and f.name not in wanted):
                if is_address and first_address is None:
                    first_address = f
                continue
            ff = f.form_field(initial=initial_data.get(f.name))
            if not require_all or (choosing_role and f.name in PARENT_FIELD_NAMES):
                # a parent's own fields come from their account once they say which parent
                ff.required = False
            if is_address and first_address is None:
                first_address = f
            elif is_address and wanted is None and first_address is not None:
                self.same_as[f.name] = first_address
                self.fields[f"same_{f.name}"] = forms.BooleanField(
                    label=_("%(label)s: same as %(other)s")
                    % {"label": f.label, "other": first_address.label},
                    required=False,
                    initial=bool(initial_data.get(f.name))
                    and initial_data.get(f.name) == initial_data.get(first_address.name),
                )
                ff.required = False
            self.fields[f.name] = ff
        for m in spec.asked_materials:
            if wanted is not None and m.key not in wanted and m.name not in wanted:
                continue
            required = m.required and require_all and (m.name not in existing or wanted is not None)
            self.fields[m.key] = CheckedFileField(label=m.name, required=required)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, first in self.same_as.items():
            if cleaned.get(f"same_{name}"):
                cleaned[name] = cleaned.get(first.name) or self.confirmed_values.get(first.name, "")
                if name in self.errors:
                    del self.errors[name]
            field = self.spec.field(name)
            if (
                self.require_all
                and field is not None
                and field.required
                and not cleaned.get(name)
                and name not in self.errors
            ):
                self.add_error(name, forms.Field.default_error_messages["required"])
        role = cleaned.get(ROLE_FIELD)
        if role and self.applicant is not None:
            own = PARENT_FIELDS.get(next((k for k, v in ROLES.items() if v == role), ""), ())
            if own and not (self.applicant.real_name and self.applicant.id_number):
                self.add_error(
                    ROLE_FIELD,
                    _("Your account has no verified name and ID number; fill in your own."),
                )
            for name in own:
                if name in self.fields:
                    cleaned[name] = (
                        self.applicant.real_name
                        if name.endswith("_name")
                        else self.applicant.id_number
                    )
        if self.require_all and self.spec.field(ROLE_FIELD) is not None:
            for name in PARENT_FIELD_NAMES:
                spec = self.spec.field(name)
                if (
                    spec is not None
                    and spec.required
                    and name in self.fields
                    and cleaned.get(name) in (None, "")
                    and name not in self.errors
                ):
                    self.add_error(name, forms.Field.default_error_messages["required"])
        return cleaned

    def answers(self) -> dict[str, Any]:
        """Cleaned answers as JSON-safe values (materials excluded)."""
        out: dict[str, Any] = {}
        for f in self.spec.fields:
            if f.name not in self.cleaned_data or f.confirmed:
                continue
            value = self.cleaned_data[f.name]
            if value in (None, ""):
                continue
            out[f.name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return out

    def uploads(self) -> dict[str, Any]:
        """Uploaded materials by material name."""
        out = {}
        for m in self.spec.asked_materials:
            value = self.cleaned_data.get(m.key)
            if value:
                out[m.name] = value
        return out


def validate_answers(
    spec: FormSpec, data: dict[str, Any], *, only: Iterable[str] | None = None, applicant=None
):
    """Validate answers given as plain values (the API); returns (answers, errors)."""
    form = ApplicationForm(
        data={k: v for k, v in data.items() if v is not None},
        spec=FormSpec(fields=spec.fields, materials=[], produced=spec.produced),
        only=only,
        applicant=applicant,
    )
    if form.is_valid():
        return form.answers(), {}
    return {}, {k: [str(m) for m in v] for k, v in form.errors.items()}


__all__ = [
    "ApplicationForm",
    "FieldSpec",
    "FormSpec",
    "Held",
    "MaterialSpec",
    "SourceSpec",
    "build_form_spec",
    "material_key",
    "prefill",
    "validate_answers",
]
