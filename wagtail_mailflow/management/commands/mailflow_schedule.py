from django.core.management.base import BaseCommand

from wagtail_mailflow.tasks import ensure_schedules


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules that send due emails and run the scans (idempotent)."

    def handle(self, *args, **options):
        for name, created in ensure_schedules():
            self.stdout.write(f"{'Created' if created else 'Up to date'}: {name} (every minute)")
