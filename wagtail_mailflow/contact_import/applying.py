"""Applying an import: its rules (update, never duplicate; skip who left), chunk by chunk.

Triggers fire set-based through the engine's trigger rules, the same as the
Python API's: contacts that changed enter the contact-update workflows whose
condition just became true, then new members enter the list's welcome
workflows that were active before they joined.
"""

import dataclasses

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import conf
from ..conditions import load_definitions
from ..contact_fields import ALL_FIELDS, CONDITION_FIELDS, IMPORT_FIELDS
from ..engine.triggers import (
    contact_state,
    contacts_changed,
    memberships_started,
    update_triggers,
)
from ..models import Contact, ContactImport, ListMembership
from . import csv_output
from .mapping import parse_row, validate_mapping
from .reading import read_rows

#: How many problems an import keeps on its record for the result page (all go to the CSV).
MAX_ISSUES_SHOWN = 100
#: The contact fields a row may change (the address finds the contact, it is not changed).
_UPDATED_FIELDS = [name for name in IMPORT_FIELDS if name != "email"]


@dataclasses.dataclass
class ImportResult:
    """What an import did, counted per row, with the first problems for the result page."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    joined: int = 0
    skipped: int = 0
    invalid: int = 0
    entered: int = 0
    issues: list = dataclasses.field(default_factory=list)


def preview(binary, *, encoding, delimiter, headers, mapping, contact_list, limit=20):
    """The first ``limit`` rows as they will be imported, each with its outcome or errors.

    Reads only the beginning of the file. Returns a list of dicts with the
    Record and ``outcome`` (a short explanation).
    """
    definitions = load_definitions()
    records, first_rows = [], {}
    for number, cells in read_rows(binary, encoding, delimiter):
        if not any(c.strip() for c in cells):
            continue
        record = parse_row(number, cells, headers, mapping, definitions)
        key = record.email.lower()
        if record.email and key in first_rows:
            record.errors.append(
                (
                    headers[mapping.index("email")],
                    _("Duplicate of row %(row)s: only the first is imported.")
                    % {"row": first_rows[key]},
                )
            )
        elif record.email:
            first_rows[key] = number
        records.append(record)
        if len(records) >= limit:
            break
    emails = [r.email.lower() for r in records if r.email and not r.errors]
    existing = {
        c.email.lower(): c
        for c in Contact.objects.annotate(_email=Lower("email")).filter(_email__in=emails)
    }
    memberships = {
        m.contact_id: m
        for m in ListMembership.objects.filter(
            contact_list=contact_list, contact__in=list(existing.values())
        )
    }
    rows = []
    for record in records:
        contact = existing.get(record.email.lower()) if not record.errors else None
        if record.errors:
            outcome = _("Not imported")
        elif contact is None:
            outcome = _("New contact, joins the list")
        else:
            reason = skip_reason(contact, memberships.get(contact.pk))
            if reason:
                outcome = reason
            elif contact.pk in memberships:
                outcome = _("Existing member, updated")
            else:
                outcome = _("Existing contact, updated, joins the list")
        rows.append({"record": record, "outcome": outcome, "ok": not record.errors})
    return rows


def skip_reason(contact, membership):
    """Why an existing contact's row is skipped (unsubscribed, or left the list), or None."""
    if contact.unsubscribed_at is not None:
        return _("Skipped: this contact unsubscribed from all emails on %(date)s.") % {
            "date": timezone.localtime(contact.unsubscribed_at).date().isoformat()
        }
    if membership is not None and membership.left_at is not None:
        return _("Skipped: this contact left the list on %(date)s.") % {
            "date": timezone.localtime(membership.left_at).date().isoformat()
        }
    return None


class _SeenEmails:
    """The addresses already met in this file, in a temporary table (not in memory)."""

    table = "mailflow_import_seen_tmp"

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table} "
                f"(email VARCHAR(254) PRIMARY KEY, row_no INTEGER)"
            )
        return self

    def __exit__(self, *exc_info):
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        except Exception:  # a broken transaction drops it with the connection state anyway
            if exc_info[0] is None:
                raise

    def earlier(self, keys):
        """{lowercased email: row} for those of ``keys`` seen in earlier chunks."""
        if not keys:
            return {}
        with connection.cursor() as cursor:
            placeholders = ", ".join(["%s"] * len(keys))
            cursor.execute(
                f"SELECT email, row_no FROM {self.table} WHERE email IN ({placeholders})",
                list(keys),
            )
            return dict(cursor.fetchall())

    def add(self, pairs):
        if pairs:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {self.table} (email, row_no) VALUES (%s, %s)", pairs
                )


def import_csv(
    binary,
    *,
    contact_list,
    headers,
    mapping,
    delimiter,
    encoding=ContactImport.Encoding.UTF8,
    file_name="",
    confirmed=False,
    problems_file=None,
    progress=None,
    now=None,
):
    """Import every row of a CSV file (binary, positioned at its start) into ``contact_list``.

    All or nothing: runs in one transaction, and any exception leaves the
    database as it was. Problems (invalid rows, duplicates, skipped contacts)
    are written as CSV rows to ``problems_file`` (a text file) when given.
    ``progress(rows_done)`` is called after each chunk. Returns an ImportResult.
    """
    definitions = load_definitions()
    validate_mapping(mapping, headers, definitions)
    chunk_size = max(int(conf.get("IMPORT_CHUNK_SIZE")), 1)
    result = ImportResult()
    writer = csv_output.writer(problems_file) if problems_file is not None else None
    if writer is not None:
        writer.writerow([_("row"), _("email"), _("column"), _("problem")])

    def problem(row, email, column, message):
        if writer is not None:
            writer.writerow([row, email, column, message])
        if len(result.issues) < MAX_ISSUES_SHOWN:
            result.issues.append(
                {"row": row, "email": email, "column": column, "message": str(message)}
            )

    writer_state = ChunkWriter(
        contact_list=contact_list,
        definitions=definitions,
        source_detail=(file_name or "")[:255],
        confirmed=confirmed,
        result=result,
        problem=problem,
        now=now,
    )
    email_column = headers[mapping.index("email")]
    with transaction.atomic(), _SeenEmails() as seen:
        chunk = {}
        for number, cells in read_rows(binary, encoding, delimiter):
            if not any(c.strip() for c in cells):
                continue
            result.rows += 1
            record = parse_row(number, cells, headers, mapping, definitions)
            key = record.email.lower()
            if record.email and key in chunk:
                record.errors.append(
                    (
                        email_column,
                        _("Duplicate of row %(row)s: only the first is imported.")
                        % {"row": chunk[key].row},
                    )
                )
            if record.errors:
                result.invalid += 1
                for column, message in record.errors:
                    problem(number, record.email or _cell(cells, mapping), column, message)
                continue
            chunk[key] = record
            if len(chunk) >= chunk_size:
                _flush(chunk, seen, writer_state, email_column)
                chunk = {}
                if progress:
                    progress(result.rows)
        if chunk:
            _flush(chunk, seen, writer_state, email_column)
        if progress:
            progress(result.rows)
    return result


def _cell(cells, mapping):
    index = mapping.index("email")
    return cells[index].strip() if index < len(cells) else ""


def _flush(chunk, seen, writer, email_column):
    """Drop rows whose address appeared in an earlier chunk, then write the chunk."""
    earlier = seen.earlier(list(chunk))
    for key, row in earlier.items():
        record = chunk.pop(key)
        writer.result.invalid += 1
        writer.problem(
            record.row,
            record.email,
            email_column,
            _("Duplicate of row %(row)s: only the first is imported.") % {"row": row},
        )
    seen.add([(key, record.row) for key, record in chunk.items()])
    if chunk:
        writer.write(list(chunk.values()))


class ChunkWriter:
    """Writes chunks of valid records with a constant number of queries each, and fires triggers."""

    def __init__(
        self, *, contact_list, definitions, source_detail, confirmed, result, problem, now
    ):
        self.contact_list = contact_list
        self.definitions = definitions
        self.source_detail = source_detail
        self.confirmed = confirmed
        self.result = result
        self.problem = problem
        self.fixed_now = now
        # Read once per import: the workflows' conditions do not change under its transaction.
        self.update_triggers = update_triggers(definitions)

    def write(self, records):
        """Create, update and enroll the contacts of one chunk of valid, distinct records."""
        now = self.fixed_now or timezone.now()
        result = self.result
        keys = [r.email.lower() for r in records]
        existing = {
            c.email.lower(): c
            for c in Contact.objects.annotate(_email=Lower("email"))
            .filter(_email__in=keys)
            .only("pk", *CONDITION_FIELDS, "properties", "unsubscribed_at")
        }
        memberships = {
            m.contact_id: m
            for m in ListMembership.objects.filter(
                contact_list=self.contact_list, contact_id__in=[c.pk for c in existing.values()]
            ).only("pk", "contact_id", "left_at")
        }
        new_contacts, changed, joiners, changed_states = [], [], [], []
        consent_source = f"{ListMembership.Source.IMPORT}:{self.source_detail}".rstrip(":")[:255]
        for record in records:
            contact = existing.get(record.email.lower())
            if contact is None:
                new_contacts.append(record)
                result.created += 1
                continue
            membership = memberships.get(contact.pk)
            reason = skip_reason(contact, membership)
            if reason:
                result.skipped += 1
                self.problem(record.row, record.email, "", reason)
                continue
            before = contact_state(contact)
            for name, value in record.fields.items():
                setattr(contact, name, value)
            contact.properties = {**(contact.properties or {}), **record.properties}
            after = contact_state(contact)
            if after != before:
                contact.updated_at = now
                changed.append(contact)
                changed_states.append((contact.pk, before, after))
                result.updated += 1
            else:
                result.unchanged += 1
            if membership is None:
                joiners.append(contact.pk)

        if new_contacts:
            joiners.extend(self.insert_contacts(new_contacts, now, consent_source))
        if changed:
            Contact.objects.bulk_update(changed, [*_UPDATED_FIELDS, "properties", "updated_at"])

        # As in api.subscribe: contact-update triggers first, then the membership starts.
        result.entered += contacts_changed(changed_states, self.update_triggers, now=now)

        if joiners:
            at = connection.ops.adapt_datetimefield_value(now)
            _insert(
                ListMembership,
                ["contact", "contact_list", "source", "source_detail", "joined_at", "confirmed_at"],
                [
                    (
                        pk,
                        self.contact_list.pk,
                        ListMembership.Source.IMPORT,
                        self.source_detail,
                        at,
                        at if self.confirmed else None,
                    )
                    for pk in joiners
                ],
            )
            result.joined += len(joiners)
            result.entered += memberships_started(self.contact_list.pk, joiners, now, now=now)

    def insert_contacts(self, records, now, consent_source):
        """Insert new contacts (one INSERT per chunk, no model instances); return their ids."""
        at = connection.ops.adapt_datetimefield_value(now)
        json_field = Contact._meta.get_field("properties")
        others = [name for name in ALL_FIELDS if name != "email"]
        _insert(
            Contact,
            ["email", *others, "properties", "consent_at", "consent_source",
             "suppression_reason", "created_at", "updated_at"],
            [
                (
                    record.email,
                    *(record.fields.get(name, "") for name in others),
                    json_field.get_db_prep_save(record.properties, connection),
                    at,
                    consent_source,
                    "",
                    at,
                    at,
                )
                for record in records
            ],
        )  # fmt: skip
        return list(
            Contact.objects.annotate(_email=Lower("email"))
            .filter(_email__in=[record.email.lower() for record in records])
            .values_list("pk", flat=True)
        )


def _insert(model, field_names, rows):
    """INSERT ``rows`` (tuples of database values in ``field_names`` order) with executemany.

    bulk_create builds and prepares a model instance per row, which is most of
    an import's time; the rows here are already database values.
    """
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in field_names)
    placeholders = ", ".join(["%s"] * len(field_names))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})",
            rows,
        )
