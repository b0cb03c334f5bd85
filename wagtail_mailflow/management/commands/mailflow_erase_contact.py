from django.core.management.base import BaseCommand

from wagtail_mailflow.models import Contact
from wagtail_mailflow.privacy import erase_contact


class Command(BaseCommand):
    help = (
        "Erase the contact with this address: personal data deleted, its enrollments and "
        "deliveries kept anonymously for statistics. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The contact's email address (any case).")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation.",
        )

    def handle(self, *args, email, interactive=True, **options):
        contact = Contact.objects.filter(email__iexact=email.strip()).first()
        if contact is None:
            self.stdout.write(f"No contact has the address {email!r}: nothing to erase.")
            return
        if interactive:
            answer = input(
                f"Erase contact #{contact.pk} and all its personal data? This cannot be undone. "
                "Type 'yes' to continue: "
            )
            if answer.strip().lower() != "yes":
                self.stdout.write("Cancelled.")
                return
        result = erase_contact(contact)
        self.stdout.write(
            f"Contact #{contact.pk} erased: {result.enrollments_kept} enrollments and "
            f"{result.deliveries_kept} deliveries kept anonymously, "
            f"{result.memberships_deleted} memberships deleted."
        )
