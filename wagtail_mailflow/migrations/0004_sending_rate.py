from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_mailflow", "0003_import_staging_do_not_contact"),
    ]

    operations = [
        migrations.CreateModel(
            name="SendingRate",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "key",
                    models.CharField(
                        default="default", max_length=50, unique=True, verbose_name="key"
                    ),
                ),
                (
                    "next_at",
                    models.BigIntegerField(
                        default=0, verbose_name="next email at (µs since the epoch)"
                    ),
                ),
            ],
            options={
                "verbose_name": "sending rate",
                "verbose_name_plural": "sending rates",
            },
        ),
    ]
