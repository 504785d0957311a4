import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def rename_outbox_task(apps, schema_editor, old="workflows.deliver_notice", new="core.deliver_notice"):
    apps.get_model("core", "OutboxMessage").objects.filter(
        task_name=old, done_at__isnull=True
    ).update(task_name=new)


def rename_outbox_task_back(apps, schema_editor):
    rename_outbox_task(apps, schema_editor, old="core.deliver_notice", new="workflows.deliver_notice")


class Migration(migrations.Migration):
    """The notice models join the core (their tables are taken over from workflows and renamed);
    open outbox messages of the delivery task carry its new name."""

    dependencies = [
        ("core", "0003_outbox_receipts"),
        ("workflows", "0004_notices_to_core"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notice",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("subject", models.CharField(max_length=200, verbose_name="subject")),
                        ("body", models.TextField(verbose_name="message")),
                        ("link", models.CharField(blank=True, max_length=200, verbose_name="link")),
                        ("link_label", models.CharField(blank=True, max_length=60, verbose_name="link label")),
                        ("source", models.CharField(blank=True, max_length=80, verbose_name="source")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="sent at")),
                        ("read_at", models.DateTimeField(blank=True, null=True, verbose_name="read at")),
                        ("recipient", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="notices", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "notice",
                        "verbose_name_plural": "notices",
                        "ordering": ["-created_at", "-id"],
                        "db_table": "workflows_notice",
                        "indexes": [models.Index(fields=["recipient", "-created_at"], name="notice_recipient_idx")],
                    },
                ),
                migrations.CreateModel(
                    name="NoticeDelivery",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("channel", models.CharField(max_length=8, verbose_name="channel")),
                        ("state", models.CharField(choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")], default="pending", max_length=8, verbose_name="state")),
                        ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                        ("provider_id", models.CharField(blank=True, max_length=100, verbose_name="provider message id")),
                        ("error", models.CharField(blank=True, max_length=300, verbose_name="error")),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                        ("notice", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="core.notice")),
                    ],
                    options={
                        "verbose_name": "notice delivery",
                        "verbose_name_plural": "notice deliveries",
                        "db_table": "workflows_noticedelivery",
                        "constraints": [models.UniqueConstraint(fields=("notice", "channel"), name="delivery_unique")],
                    },
                ),
                migrations.CreateModel(
                    name="NoticePreference",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("email", models.EmailField(blank=True, max_length=254, verbose_name="e-mail address")),
                        ("by_email", models.BooleanField(default=False, verbose_name="by e-mail")),
                        ("by_sms", models.BooleanField(default=True, verbose_name="by SMS")),
                        ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="notice_preference", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "notice preference",
                        "verbose_name_plural": "notice preferences",
                        "db_table": "workflows_noticepreference",
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="notice", table=None),
        migrations.AlterModelTable(name="noticedelivery", table=None),
        migrations.AlterModelTable(name="noticepreference", table=None),
        migrations.AddConstraint(
            model_name="notice",
            constraint=models.UniqueConstraint(
                condition=models.Q(("source", ""), _negated=True),
                fields=("source",),
                name="notice_source_unique",
            ),
        ),
        migrations.RunPython(rename_outbox_task, rename_outbox_task_back),
    ]
