from django.db import migrations, models
from django.urls import reverse


def links_from_applications(apps, schema_editor):
    notice_model = apps.get_model("workflows", "Notice")
    for notice in notice_model.objects.filter(application__isnull=False).select_related(
        "application"
    ):
        notice.link = reverse("workflows:application", kwargs={"pk": notice.application.pk})
        notice.link_label = notice.application.reference[:60]
        notice.save(update_fields=["link", "link_label"])
    for notice in notice_model.objects.filter(event__isnull=False):
        notice.source = f"workflows.taskevent:{notice.event_id}"
        notice.save(update_fields=["source"])


def applications_from_links(apps, schema_editor):
    notice_model = apps.get_model("workflows", "Notice")
    for notice in notice_model.objects.exclude(source=""):
        notice.event_id = int(notice.source.rsplit(":", 1)[1])
        notice.save(update_fields=["event"])


class Migration(migrations.Migration):
    """Notices are the core's: the link to an application becomes a link and a label, the event
    that caused a notice its ``source``; then the models leave this app's state (their tables
    stay, the core takes them over)."""

    dependencies = [
        ("workflows", "0003_workflow_consent"),
    ]

    operations = [
        migrations.AddField(
            model_name="notice",
            name="link",
            field=models.CharField(blank=True, max_length=200, verbose_name="link"),
        ),
        migrations.AddField(
            model_name="notice",
            name="link_label",
            field=models.CharField(blank=True, max_length=60, verbose_name="link label"),
        ),
        migrations.AddField(
            model_name="notice",
            name="source",
            field=models.CharField(blank=True, max_length=80, verbose_name="source"),
        ),
        migrations.RunPython(links_from_applications, applications_from_links),
        migrations.RemoveField(model_name="notice", name="application"),
        migrations.RemoveField(model_name="notice", name="event"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="NoticeDelivery"),
                migrations.DeleteModel(name="NoticePreference"),
                migrations.DeleteModel(name="Notice"),
            ],
        ),
    ]
