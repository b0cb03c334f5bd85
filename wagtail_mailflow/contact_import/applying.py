"""Applying an import: its rules (update, never duplicate; skip who left), chunk by chunk.

Triggers fire set-based through the engine's trigger rules, the same as the
Python API's: contacts that changed enter the contact-update workflows whose
condition just became true, then new members enter the list's welcome
workflows that were active before they joined.
"""

import dataclasses
import datetime
import uuid

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
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
    welcome_workflows,
)
from ..models import Contact, ContactImport, DoNotContact, ListMembership, StagedImportRow
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

    All or nothing, without holding the database's write lock for the whole file:

    1. *Staging*: the file is read to its end and every valid row is stored in
       :class:`StagedImportRow`, a chunk per short transaction. A file that turns
       out to be unreadable half-way stops here, before any contact changed.
    2. *Applying*: the staged rows are written to contacts and memberships, a
       chunk per short transaction, each recording what it changed. If a chunk
       fails, the chunks already applied are undone and the error is raised.
    3. *Workflows*: once every row is in, the contacts that changed enter the
       contact-update workflows and the new members the list's welcome workflows.

    Between two transactions signups, unsubscribes and the workers write as
    usual. Problems (invalid rows, duplicates, skipped contacts) are written as
    CSV rows to ``problems_file`` (a text file) when given. ``progress(rows)`` is
    called after each chunk, outside any transaction. Returns an ImportResult.
    """
    definitions = load_definitions()
    validate_mapping(mapping, headers, definitions)
    chunk_size = max(int(conf.get("IMPORT_CHUNK_SIZE")), 1)
    # One time for the whole import: every membership it starts begins at it, and the
    # welcome workflows they enter are those active before it.
    now = now or timezone.now()
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

    run = uuid.uuid4().hex
    chunk_writer = ChunkWriter(
        contact_list=contact_list,
        definitions=definitions,
        source_detail=(file_name or "")[:255],
        confirmed=confirmed,
        result=result,
        problem=problem,
        now=now,
        run=run,
    )
    email_column = headers[mapping.index("email")]
    try:
        _stage(binary, run, contact_list, headers, mapping, delimiter, encoding, definitions,
               chunk_size, result, problem, email_column, progress)  # fmt: skip
        try:
            for records in _staged_chunks(run, chunk_size):
                with transaction.atomic():
                    chunk_writer.write(records)
                if progress:
                    progress(result.rows)
        except BaseException:
            undo_run(run)
            raise
        result.entered = start_workflows(run, contact_list.pk, chunk_writer.update_triggers, now,
                                         chunk_size)  # fmt: skip
    finally:
        _delete_run(run, chunk_size)
    if progress:
        progress(result.rows)
    return result


def _stage(binary, run, contact_list, headers, mapping, delimiter, encoding, definitions,
           chunk_size, result, problem, email_column, progress):  # fmt: skip
    """Read the whole file; store its valid, distinct rows for ``run``, a chunk at a time."""
    chunk = {}

    def flush():
        earlier = dict(
            StagedImportRow.objects.filter(run=run, email_key__in=list(chunk)).values_list(
                "email_key", "row"
            )
        )
        for key, row in earlier.items():
            record = chunk.pop(key)
            result.invalid += 1
            problem(
                record.row,
                record.email,
                email_column,
                _("Duplicate of row %(row)s: only the first is imported.") % {"row": row},
            )
        if chunk:
            fields_field = StagedImportRow._meta.get_field("fields")
            at = connection.ops.adapt_datetimefield_value(timezone.now())
            with transaction.atomic():
                _insert(
                    StagedImportRow,
                    ["run", "contact_list_id", "row", "email_key", "email", "fields",
                     "properties", "outcome", "joined", "created_at"],
                    [
                        (run, contact_list.pk, record.row, key, record.email,
                         fields_field.get_db_prep_save(record.fields, connection),
                         fields_field.get_db_prep_save(record.properties, connection),
                         "", False, at)
                        for key, record in chunk.items()
                    ],
                )  # fmt: skip

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
            flush()
            chunk = {}
            if progress:
                progress(result.rows)
    if chunk:
        flush()


def _staged_chunks(run, chunk_size, **filters):
    """The staged rows of ``run`` in file order, as lists of at most ``chunk_size``."""
    last = 0
    while True:
        rows = list(
            StagedImportRow.objects.filter(run=run, pk__gt=last, **filters).order_by("pk")[
                :chunk_size
            ]
        )
        if not rows:
            return
        last = rows[-1].pk
        yield rows


def _delete_run(run, chunk_size):
    """Delete the staged rows of ``run``, a chunk per statement."""
    while True:
        pks = list(
            StagedImportRow.objects.filter(run=run).values_list("pk", flat=True)[:chunk_size]
        )
        if not pks:
            return
        StagedImportRow.objects.filter(pk__in=pks).delete()


def undo_run(run, chunk_size=1000):
    """Undo what the applied chunks of ``run`` changed, a chunk per short transaction.

    Memberships the import started (and that are still current) are deleted,
    contacts it created are deleted unless something else happened to them since
    (they unsubscribed, or joined another list), and the contacts it updated get
    back the values they had.
    """
    for rows in _staged_chunks(run, chunk_size, outcome__in=[
        StagedImportRow.Outcome.CREATED, StagedImportRow.Outcome.UPDATED,
        StagedImportRow.Outcome.UNCHANGED,
    ]):  # fmt: skip
        with transaction.atomic():
            joined = [row.contact_id for row in rows if row.joined]
            if joined:
                ListMembership.objects.filter(
                    contact_id__in=joined,
                    contact_list_id=rows[0].contact_list_id,
                    source=ListMembership.Source.IMPORT,
                    left_at__isnull=True,
                ).delete()
            created = [row.contact_id for row in rows if row.outcome == row.Outcome.CREATED]
            if created:
                Contact.objects.filter(pk__in=created, unsubscribed_at__isnull=True).exclude(
                    Exists(ListMembership.objects.filter(contact=OuterRef("pk")))
                ).delete()
            restored = []
            previous = {row.contact_id: row.previous for row in rows if row.previous}
            for contact in Contact.objects.filter(pk__in=list(previous)):
                for name, value in previous[contact.pk].items():
                    setattr(contact, name, value)
                restored.append(contact)
            if restored:
                Contact.objects.bulk_update(restored, [*_UPDATED_FIELDS, "properties"])


def undo_abandoned(age=datetime.timedelta(days=1)):
    """Undo and delete the runs staged more than ``age`` ago (an import whose process died)."""
    runs = (
        StagedImportRow.objects.filter(created_at__lt=timezone.now() - age)
        .values_list("run", flat=True)
        .distinct()
    )
    for run in list(runs):
        undo_run(run)
        _delete_run(run, 1000)


def start_workflows(run, contact_list_id, triggers, now, chunk_size):
    """Once every row is in: contacts that changed and new members enter workflows.

    As in api.subscribe, per chunk: contact-update triggers first, then the
    memberships start. Returns how many enrollments it created.
    """
    entered = 0
    if not triggers and not welcome_workflows(contact_list_id, now).exists():
        return entered  # no workflow to enter: the staged rows need not be read again
    for rows in _staged_chunks(run, chunk_size):
        changes = [
            (row.contact_id, row.state_before, row.state_after)
            for row in rows
            if row.state_before is not None
        ]
        joiners = [row.contact_id for row in rows if row.joined]
        with transaction.atomic():
            entered += contacts_changed(changes, triggers, now=now)
        if joiners:
            with transaction.atomic():
                entered += memberships_started(contact_list_id, joiners, now, now=now)
    return entered


def _cell(cells, mapping):
    index = mapping.index("email")
    return cells[index].strip() if index < len(cells) else ""


class ChunkWriter:
    """Writes chunks of staged records with a constant number of queries each, recording each."""

    def __init__(
        self, *, contact_list, definitions, source_detail, confirmed, result, problem, now, run
    ):
        self.contact_list = contact_list
        self.definitions = definitions
        self.source_detail = source_detail
        self.confirmed = confirmed
        self.result = result
        self.problem = problem
        self.now = now
        self.run = run
        # Read once per import: the workflows that may be entered when it ends.
        self.update_triggers = update_triggers(definitions)

    def write(self, records):
        """Create and update the contacts of one chunk of staged rows; start their memberships.

        Runs in the caller's transaction and records on each staged row what it
        did, so that :func:`undo_run` can undo it and :func:`start_workflows`
        can fire the triggers once the whole file is in.
        """
        now = self.now
        result = self.result
        keys = [r.email_key for r in records]
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
        do_not_contact = set()
        new_keys = [key for key in keys if key not in existing]
        if new_keys and DoNotContact.objects.exists():
            do_not_contact = DoNotContact.objects.listed(new_keys)
        new_contacts, changed, joiners = [], [], []
        consent_source = f"{ListMembership.Source.IMPORT}:{self.source_detail}".rstrip(":")[:255]
        Outcome = StagedImportRow.Outcome
        for record in records:
            contact = existing.get(record.email_key)
            if contact is None:
                if record.email_key in do_not_contact:
                    record.outcome = Outcome.SKIPPED
                    result.skipped += 1
                    self.problem(record.row, record.email, "", do_not_contact_reason())
                    continue
                new_contacts.append(record)
                record.outcome = Outcome.CREATED
                result.created += 1
                continue
            record.contact_id = contact.pk
            membership = memberships.get(contact.pk)
            reason = skip_reason(contact, membership)
            if reason:
                record.outcome = Outcome.SKIPPED
                result.skipped += 1
                self.problem(record.row, record.email, "", reason)
                continue
            before = contact_state(contact)
            previous = {name: getattr(contact, name) for name in _UPDATED_FIELDS}
            previous["properties"] = dict(contact.properties or {})
            for name, value in record.fields.items():
                setattr(contact, name, value)
            contact.properties = {**(contact.properties or {}), **record.properties}
            after = contact_state(contact)
            if after != before:
                contact.updated_at = now
                changed.append(contact)
                record.previous = previous
                record.state_before, record.state_after = before, after
                record.outcome = Outcome.UPDATED
                result.updated += 1
            else:
                record.outcome = Outcome.UNCHANGED
                result.unchanged += 1
            if membership is None:
                joiners.append(contact.pk)
                record.joined = True

        if new_contacts:
            ids = self.insert_contacts(new_contacts, now, consent_source)
            for record in new_contacts:
                record.contact_id = ids[record.email_key]
                record.joined = True
                joiners.append(record.contact_id)
        if changed:
            Contact.objects.bulk_update(changed, [*_UPDATED_FIELDS, "properties", "updated_at"])

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
        self.record(records)

    def record(self, records):
        """Store on the staged rows what applying them did (one statement for the chunk)."""
        json_field = StagedImportRow._meta.get_field("previous")

        def prep(value):
            return None if value is None else json_field.get_db_prep_save(value, connection)

        quote = connection.ops.quote_name
        table = quote(StagedImportRow._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET outcome = %s, contact_id = %s, joined = %s, previous = %s, "
                f"state_before = %s, state_after = %s WHERE id = %s",
                [
                    (
                        record.outcome,
                        record.contact_id,
                        record.joined,
                        prep(record.previous),
                        prep(record.state_before),
                        prep(record.state_after),
                        record.pk,
                    )
                    for record in records
                ],
            )

    def insert_contacts(self, records, now, consent_source):
        """Insert new contacts (one INSERT per chunk, no model instances); {key: id}."""
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
        return dict(
            Contact.objects.annotate(_email=Lower("email"))
            .filter(_email__in=[record.email_key for record in records])
            .values_list("_email", "pk")
        )


def do_not_contact_reason():
    """Why a new address is skipped: it was erased after asking not to be mailed."""
    return _(
        "Skipped: this address was erased after it unsubscribed or bounced; it can only "
        "subscribe again through a signup form, confirming from its mailbox."
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
