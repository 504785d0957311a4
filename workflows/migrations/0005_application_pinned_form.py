import hashlib
import re

import django.db.models.deletion
from django.db import migrations, models

# A real-name citizen's identity card, held by public security (workflows.selectors).
IDENTITY_DOCUMENT = "居民身份证"
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")


def material_key(name):
    return "m_" + hashlib.sha256(name.strip().encode()).hexdigest()[:10]


class Sources:
    """What each item looked like when an application was submitted: the version published
    last before then, else the one published now, else (never published) the item itself."""

    def __init__(self, apps):
        self.version_model = apps.get_model("catalog", "ServiceItemVersion")
        self.item_model = apps.get_model("catalog", "ServiceItem")
        self.material_model = apps.get_model("catalog", "Material")
        self.versions = {}
        self.snapshots = {}
        self.live = {}

    def at(self, item_id, when):
        """(version pk or None, snapshot-shaped content, version number) of an item."""
        if item_id not in self.versions:
            self.versions[item_id] = list(
                self.version_model.objects.filter(item_id=item_id)
                .order_by("-number")
                .values_list("pk", "number", "published_at")
            )
        rows = self.versions[item_id]
        if rows:
            chosen = next((r for r in rows if when is not None and r[2] <= when), rows[0])
            pk, number = chosen[0], chosen[1]
            if pk not in self.snapshots:
                self.snapshots[pk] = self.version_model.objects.get(pk=pk).snapshot
            return pk, self.snapshots[pk], number
        if item_id not in self.live:
            item = self.item_model.objects.get(pk=item_id)
            materials = self.material_model.objects.filter(item_id=item_id).select_related("issuer")
            self.live[item_id] = {
                "code": item.code,
                "name": item.name,
                "form_fields": item.form_fields or [],
                "materials": [
                    {
                        "name": m.name,
                        "source": m.source,
                        "required": m.required,
                        "issuer": m.issuer.name if m.issuer_id else None,
                    }
                    for m in materials.order_by("sort_order", "id")
                ],
            }
        return None, self.live[item_id], 0


def form_spec(sources, *, produced, held_names):
    """The form as ``workflows.forms.build_form_spec`` merged it, from snapshots."""
    fields, materials, items = {}, {}, []
    for item_id, content, number in sources:
        items.append(
            {"id": item_id, "code": content["code"], "name": content["name"], "version": number}
        )
        for raw in content.get("form_fields") or []:
            name = str(raw.get("name", "")).strip()
            if not name or name in produced or not FIELD_NAME.fullmatch(name):
                continue
            if name not in fields:
                fields[name] = {
                    "name": name,
                    "label": str(raw.get("label") or name),
                    "type": str(raw.get("type") or "text"),
                    "required": bool(raw.get("required", True)),
                    "choices": list(raw.get("choices") or []),
                    "items": [],
                }
            else:
                fields[name]["required"] = fields[name]["required"] or bool(
                    raw.get("required", True)
                )
            fields[name]["items"].append(content["name"])
        for raw in content.get("materials") or []:
            name = raw["name"].strip()
            held, issuer = "", ""
            if raw.get("source", "applicant") != "applicant":
                held, issuer = "department", raw.get("issuer") or ""
            elif any(h in name for h in held_names):
                held = "licence"
            if name not in materials:
                materials[name] = {
                    "key": material_key(name),
                    "name": name,
                    "required": bool(raw.get("required", True)),
                    "held": held,
                    "issuer": issuer,
                    "items": [content["name"]],
                }
            else:
                spec = materials[name]
                spec["required"] = spec["required"] or bool(raw.get("required", True))
                if not held:
                    spec["held"], spec["issuer"] = "", ""
                spec["items"].append(content["name"])
    return {
        "items": items,
        "fields": list(fields.values()),
        "materials": list(materials.values()),
        "produced": sorted(produced),
    }


def pin_submitted(apps, schema_editor):
    application_model = apps.get_model("workflows", "Application")
    pin_model = apps.get_model("workflows", "ApplicationItemVersion")
    bundle_item_model = apps.get_model("catalog", "BundleItem")
    licence_model = apps.get_model("workflows", "ELicence")
    sources = Sources(apps)
    submitted = (
        application_model.objects.exclude(status="draft")
        .filter(form_spec={})
        .select_related("applicant", "definition")
        .order_by("pk")
    )
    for app in submitted.iterator(chunk_size=200):
        if app.item_id:
            item_ids = [app.item_id]
        else:
            item_ids = list(
                bundle_item_model.objects.filter(bundle_id=app.bundle_id)
                .order_by("sort_order", "id")
                .values_list("item_id", flat=True)
            )
        produced = set()
        if app.definition_id:
            produced = {
                g for s in app.definition.compiled.get("steps", []) for g in s.get("gives", [])
            }
        licences = licence_model.objects.filter(holder_id=app.applicant_id)
        if app.submitted_at is not None:
            licences = licences.filter(created_at__lte=app.submitted_at)
        held_names = [n for n in licences.values_list("name", flat=True) if n]
        if getattr(app.applicant, "id_number", None):
            held_names.append(IDENTITY_DOCUMENT)
        chosen = [(i, *sources.at(i, app.submitted_at)) for i in item_ids]
        spec = form_spec(
            [(i, content, number) for i, _pk, content, number in chosen],
            produced=produced,
            held_names=held_names,
        )
        application_model.objects.filter(pk=app.pk).update(form_spec=spec)
        pin_model.objects.bulk_create(
            pin_model(application_id=app.pk, version_id=pk, position=n)
            for n, (_i, pk, _content, _number) in enumerate(chosen)
            if pk is not None
        )


class Migration(migrations.Migration):
    """An application keeps what it was filed under: the item versions and the form as asked.
    Submitted applications are pinned to the version of each item published last before their
    submission (else the one published now), with the form those versions asked."""

    dependencies = [
        ("catalog", "0005_item_facets_index"),
        ("workflows", "0004_notices_to_core"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="form_spec",
            field=models.JSONField(
                blank=True,
                default=dict,
                editable=False,
                help_text="The fields and materials the form asked when it was submitted.",
                verbose_name="form as filed",
            ),
        ),
        migrations.CreateModel(
            name="ApplicationItemVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0, verbose_name="order")),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="filed_versions",
                        to="workflows.application",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="catalog.serviceitemversion",
                        verbose_name="item version",
                    ),
                ),
            ],
            options={
                "verbose_name": "item version filed under",
                "verbose_name_plural": "item versions filed under",
                "ordering": ["application_id", "position", "id"],
            },
        ),
        migrations.AddField(
            model_name="application",
            name="item_versions",
            field=models.ManyToManyField(
                blank=True,
                related_name="applications",
                through="workflows.ApplicationItemVersion",
                to="catalog.serviceitemversion",
                verbose_name="item versions filed under",
            ),
        ),
        migrations.AddConstraint(
            model_name="applicationitemversion",
            constraint=models.UniqueConstraint(
                fields=("application", "version"), name="application_version_unique"
            ),
        ),
        migrations.RunPython(pin_submitted, migrations.RunPython.noop, elidable=True),
    ]
