from django.core.management.base import BaseCommand

from wagtail_mailflow.engine.dispatch import run_due
from wagtail_mailflow.engine.scans import run_scans


class Command(BaseCommand):
    help = "Run the scans and send every due email now, in this process (no qcluster needed)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-scans", action="store_true", help="Only send what is already due."
        )

    def handle(self, *args, **options):
        if not options["no_scans"]:
            self.stdout.write(f"Scans entered {run_scans()} contacts.")
        stats = run_due()
        self.stdout.write(
            f"Sent {stats.sent}, skipped {stats.skipped}, failed {stats.failed}, "
            f"suppressed {stats.suppressed}, retrying {stats.retried}, unknown {stats.unknown}"
            + (" (sending is paused)" if stats.paused else "")
        )
