import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_mailflow", "0002_soft_bounce_reason"),
    ]

    operations = [
        migrations.CreateModel(
            name="DoNotContact",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("address_hash", models.CharField(max_length=64, unique=True, verbose_name="address hash")),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("unsubscribed", "Unsubscribed from all emails"),
                            ("suppressed", "Suppressed (bounce, complaint or editor)"),
                        ],
                        max_length=20,
                        verbose_name="reason",
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="recorded")),
            ],
            options={
                "verbose_name": "do-not-contact record",
                "verbose_name_plural": "do-not-contact records",
            },
        ),
        migrations.CreateModel(
            name="StagedImportRow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("run", models.CharField(max_length=32, verbose_name="run")),
                ("contact_list_id", models.BigIntegerField(verbose_name="list")),
                ("row", models.PositiveIntegerField(verbose_name="row")),
                ("email_key", models.CharField(max_length=254, verbose_name="lowercased address")),
                ("email", models.CharField(max_length=254, verbose_name="email")),
                ("fields", models.JSONField(blank=True, default=dict, verbose_name="fields")),
                ("properties", models.JSONField(blank=True, default=dict, verbose_name="properties")),
                (
                    "outcome",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("", "Not applied yet"),
                            ("created", "New contact"),
                            ("updated", "Contact updated"),
                            ("unchanged", "Contact unchanged"),
                            ("skipped", "Skipped"),
                        ],
                        default="",
                        max_length=10,
                        verbose_name="outcome",
                    ),
                ),
                ("contact_id", models.BigIntegerField(blank=True, null=True, verbose_name="contact")),
                ("joined", models.BooleanField(default=False, verbose_name="joined the list")),
                ("previous", models.JSONField(blank=True, null=True, verbose_name="previous values")),
                ("state_before", models.JSONField(blank=True, null=True, verbose_name="state before")),
                ("state_after", models.JSONField(blank=True, null=True, verbose_name="state after")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="staged")),
            ],
            options={
                "verbose_name": "staged import row",
                "verbose_name_plural": "staged import rows",
                "indexes": [models.Index(fields=["run", "row"], name="mailflow_staged_run_row")],
                "constraints": [
                    models.UniqueConstraint(fields=("run", "email_key"), name="mailflow_staged_unique_email")
                ],
            },
        ),
    ]
