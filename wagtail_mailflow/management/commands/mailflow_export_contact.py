import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from wagtail_mailflow.models import Contact
from wagtail_mailflow.privacy import export_contact


class Command(BaseCommand):
    help = (
        "Print (or write to a file) everything stored about the contact with this address, as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The contact's email address (any case).")
        parser.add_argument("-o", "--output", help="Write the JSON to this file instead of stdout.")

    def handle(self, *args, email, output=None, **options):
        try:
            contact = Contact.objects.get_by_email(email)
        except Contact.DoesNotExist:
            raise CommandError(f"No contact has the address {email!r}.") from None
        data = json.dumps(export_contact(contact), cls=DjangoJSONEncoder, indent=2)
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(data + "\n")
            self.stdout.write(f"Written to {output}.")
        else:
            self.stdout.write(data)
