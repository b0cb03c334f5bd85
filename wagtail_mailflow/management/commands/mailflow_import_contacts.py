from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wagtail_mailflow import contact_import as service
from wagtail_mailflow.models import ContactImport, ContactList, ContactProperty


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file into a list, as the admin's import does: existing "
        "contacts are updated, unsubscribed ones skipped, welcome workflows start. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (first line: column names).")
        parser.add_argument("--list", required=True, dest="list_name", help="The list's name.")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help=(
                "Map a column (its header, or its number from 1) to "
                f"{', '.join(service.FIELDS)}, a property name, or ignore. Repeatable; "
                "columns not given are mapped by their header name."
            ),
        )
        parser.add_argument("--encoding", choices=ContactImport.Encoding.values, default="utf-8")
        parser.add_argument(
            "--confirmed",
            action="store_true",
            help="Count the memberships as confirmed (double opt-in lists).",
        )
        parser.add_argument(
            "--problems", metavar="FILE", help="Write every problem to this CSV file."
        )

    def handle(self, *args, file, list_name, map, encoding, confirmed, problems, **options):
        try:
            contact_list = ContactList.objects.get(name=list_name)
        except ContactList.DoesNotExist:
            raise CommandError(f"There is no contact list {list_name!r}.") from None
        definitions = {p.name: p for p in ContactProperty.objects.all()}
        try:
            with open(file, "rb") as binary:
                delimiter, headers, count = service.inspect_file(binary, encoding)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except service.ImportFileError as exc:
            raise CommandError(str(exc)) from None
        mapping = service.propose_mapping(headers, list(definitions.values()))
        for item in map:
            column, sep, target = item.partition("=")
            if not sep:
                raise CommandError(f"--map {item!r}: write COLUMN=FIELD.")
            index = self.column_index(column.strip(), headers)
            target = target.strip()
            if target in ("ignore", ""):
                target = ""
            elif target not in service.FIELDS:
                if target.startswith(service.PROPERTY_PREFIX):
                    target = target[len(service.PROPERTY_PREFIX) :]
                if target not in definitions:
                    raise CommandError(
                        f"--map {item!r}: {target!r} is neither a contact field "
                        f"({', '.join(service.FIELDS)}) nor a contact property."
                    )
                target = service.PROPERTY_PREFIX + target
            mapping[index] = target
        self.stdout.write(f"{count} rows; columns:")
        for header, target in zip(headers, mapping, strict=True):
            self.stdout.write(f"  {header} -> {target or 'ignored'}")
        out = open(problems, "w", encoding="utf-8-sig", newline="") if problems else None
        try:
            with open(file, "rb") as binary:
                result = service.import_csv(
                    binary,
                    contact_list=contact_list,
                    headers=headers,
                    mapping=mapping,
                    delimiter=delimiter,
                    encoding=encoding,
                    file_name=file.rsplit("/", 1)[-1],
                    confirmed=confirmed,
                    problems_file=out,
                )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except service.ImportFileError as exc:
            raise CommandError(f"{exc} Nothing was imported.") from None
        finally:
            if out:
                out.close()
        self.stdout.write(
            f"Imported {result.rows} rows into {contact_list}: {result.created} new contacts, "
            f"{result.updated} updated, {result.unchanged} unchanged, {result.joined} joined "
            f"the list, {result.skipped} skipped, {result.invalid} with errors; "
            f"{result.entered} workflow entries."
        )
        for issue in result.issues:
            self.stderr.write(f"row {issue['row']}: {issue['column'] or '-'}: {issue['message']}")

    def column_index(self, column, headers):
        if column.isdigit() and 1 <= int(column) <= len(headers):
            return int(column) - 1
        lowered = [h.lower() for h in headers]
        if column.lower() in lowered:
            return lowered.index(column.lower())
        raise CommandError(f"No column {column!r}; the columns are: {', '.join(headers)}.")
