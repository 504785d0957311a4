"""A bundle promises the critical path of its active workflow: record it on every bundle that
has one, replacing a figure typed by hand."""

from django.db import migrations


def promises_record(apps, schema_editor):
    WorkflowDefinition = apps.get_model("workflows", "WorkflowDefinition")
    Bundle = apps.get_model("catalog", "Bundle")
    active = WorkflowDefinition.objects.filter(status="active", bundle__isnull=False)
    for wf in active.only("bundle_id", "compiled"):
        days = (wf.compiled or {}).get("critical_path_workdays")
        if days is not None:
            Bundle.objects.filter(pk=wf.bundle_id).update(promised_days=days)


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0005_application_pinned_form"),
        ("catalog", "0005_item_facets_index"),
    ]

    operations = [migrations.RunPython(promises_record, migrations.RunPython.noop)]
