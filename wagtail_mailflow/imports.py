"""Importing contacts from a CSV file into a list, in flat memory and all or nothing.

The file is streamed: it is decoded piece by piece, parsed row by row, and
written in chunks of ``WAGTAIL_MAILFLOW_IMPORT_CHUNK_SIZE`` rows with a constant
number of queries per chunk (existing contacts are matched by lowercased
address, new contacts and memberships are bulk-created, changed contacts
bulk-updated). Duplicates within the file are found through a temporary table,
so memory does not grow with the number of rows.

The whole import runs in one database transaction: a fatal error (a database
error, a file that turns out to be unreadable half-way) rolls everything back,
so an import is either done completely or not at all. Rows with errors are not
fatal: they are reported (row, column, message) and skipped, and the valid rows
are imported.

Triggers fire set-based and follow the Python API's rules: contacts whose
properties changed enter the contact-update workflows whose condition just
became true, then new members enter the list's welcome workflows that were
active before they joined.
"""

import codecs
import csv
import dataclasses
import datetime
import io
import logging
import os
import re
import tempfile
import unicodedata

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from . import conf
from .models import (
    Contact,
    ContactImport,
    ContactProperty,
    EmailWorkflow,
    ListMembership,
    coerce_value,
    normalize_email,
)

logger = logging.getLogger(__name__)

IMPORT_TASK = "wagtail_mailflow.imports.run_import_task"

#: Contact fields a column can fill (besides properties).
FIELDS = ("email", "first_name", "last_name", "language")
PROPERTY_PREFIX = "property:"
#: How many problems an import keeps on its record for the result page (all go to the CSV).
MAX_ISSUES_SHOWN = 100
#: Bytes of the file read at a time, and decoded text given to csv.Sniffer.
READ_SIZE = 64 * 1024
SNIFF_SIZE = 32 * 1024
DELIMITERS = ",;\t"
ENCODING_NAMES = {"utf-8": "UTF-8", "latin-1": "Latin-1"}
#: Header names (normalised) proposed for each contact field.
FIELD_ALIASES = {
    "email": {"email", "e_mail", "mail", "email_address", "e_mail_address", "courriel",
              "adresse_email", "adresse_e_mail", "adresse_mail"},
    "first_name": {"first_name", "firstname", "first", "given_name", "forename", "prenom"},
    "last_name": {"last_name", "lastname", "last", "surname", "family_name", "nom",
                  "nom_de_famille"},
    "language": {"language", "lang", "langue", "locale"},
}  # fmt: skip


class ImportFileError(Exception):
    """The file cannot be read as CSV in the chosen encoding (a fatal error, with a message)."""


@dataclasses.dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    joined: int = 0
    skipped: int = 0
    invalid: int = 0
    entered: int = 0
    issues: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Record:
    """One row as it will be imported."""

    row: int
    email: str = ""
    fields: dict = dataclasses.field(default_factory=dict)
    properties: dict = dataclasses.field(default_factory=dict)
    errors: list = dataclasses.field(default_factory=list)  # (column, message)


# -- reading -----------------------------------------------------------------------


def decoded_lines(binary, encoding):
    """The lines of a binary file, decoded, each with its line ending (for csv.reader).

    Reads READ_SIZE bytes at a time. Bytes that are not valid in ``encoding``
    raise ImportFileError naming the line and the byte offset. A UTF-8 byte
    order mark is dropped.
    """
    codec = "utf-8-sig" if encoding == ContactImport.Encoding.UTF8 else encoding
    decoder = codecs.getincrementaldecoder(codec)("strict")
    offset = 0
    line = 1
    pending = ""
    while True:
        chunk = binary.read(READ_SIZE)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            # The decoder keeps at most a few bytes of an incomplete character from the
            # previous read; exc.start counts from those, close enough for a human.
            bad = max(exc.start - len(exc.object) + len(chunk), 0)
            raise ImportFileError(
                _(
                    "The file is not valid %(encoding)s: line %(line)s has an invalid byte "
                    "(0x%(byte)s at byte %(offset)s of the file). Save it as UTF-8, or choose "
                    "the Latin-1 encoding if that is what it uses."
                )
                % {
                    "encoding": ENCODING_NAMES.get(encoding, encoding),
                    "line": line + chunk[:bad].count(b"\n"),
                    "byte": exc.object[exc.start : exc.start + 1].hex(),
                    "offset": offset + bad,
                }
            ) from None
        offset += len(chunk)
        line += chunk.count(b"\n")
        if text:
            parts = (pending + text).split("\n")
            pending = parts.pop()
            for part in parts:
                yield part + "\n"
        if not chunk:
            break
    if pending:
        yield pending


def sniff_delimiter(lines):
    """The delimiter (, ; or tab) of a CSV file, from its first lines."""
    sample = "".join(lines)
    if not sample.strip():
        raise ImportFileError(_("The file is empty."))
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # One column, or too few rows to be sure: count in the header line.
        header = sample.splitlines()[0]
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _reader(lines, delimiter):
    return csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)


def _rows(binary, encoding, delimiter):
    """(row number, cells) for every row after the header; the header is row 1."""
    reader = _reader(decoded_lines(binary, encoding), delimiter)
    try:
        next(reader, None)
        yield from enumerate(reader, start=2)
    except csv.Error as exc:
        raise ImportFileError(
            _("The file is not valid CSV near line %(line)s: %(error)s")
            % {"line": reader.line_num, "error": exc}
        ) from None


def inspect_file(binary, encoding):
    """Check a whole file and describe it: ``(delimiter, headers, data row count)``.

    Streams the file once; raises ImportFileError with a message for the user.
    """
    lines = decoded_lines(binary, encoding)
    head = []
    size = 0
    for line in lines:
        head.append(line)
        size += len(line)
        if size >= SNIFF_SIZE:
            break
    delimiter = sniff_delimiter(head)
    reader = _reader(_chain(head, lines), delimiter)
    try:
        headers = next(reader, None)
        count = sum(1 for cells in reader if any(cell.strip() for cell in cells))
    except csv.Error as exc:
        raise ImportFileError(
            _("The file is not valid CSV near line %(line)s: %(error)s")
            % {"line": reader.line_num, "error": exc}
        ) from None
    headers = [(h or "").strip() for h in headers or []]
    if not any(headers):
        raise ImportFileError(_("The first line must name the columns, e.g. “email”."))
    headers = [h or _("Column %(number)s") % {"number": i} for i, h in enumerate(headers, 1)]
    return delimiter, headers, count


def _chain(first, rest):
    yield from first
    yield from rest


# -- mapping -----------------------------------------------------------------------


def _normalise_header(header):
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def target_choices(definitions=None):
    """(value, label) pairs a column can be mapped to."""
    if definitions is None:
        definitions = list(ContactProperty.objects.all())
    choices = [
        ("", _("Ignore this column")),
        ("email", _("Email address")),
        ("first_name", _("First name")),
        ("last_name", _("Last name")),
        ("language", _("Language")),
    ]
    for prop in definitions:
        choices.append(
            (
                PROPERTY_PREFIX + prop.name,
                _("Property: %(label)s (%(type)s)")
                % {"label": prop.label or prop.name, "type": prop.get_type_display()},
            )
        )
    return choices


def propose_mapping(headers, definitions=None):
    """A target for each header, guessed from its name (a field, a property, or ignore)."""
    if definitions is None:
        definitions = list(ContactProperty.objects.all())
    by_name = {}
    for prop in definitions:
        by_name.setdefault(_normalise_header(prop.name), PROPERTY_PREFIX + prop.name)
        if prop.label:
            by_name.setdefault(_normalise_header(prop.label), PROPERTY_PREFIX + prop.name)
    mapping, used = [], set()
    for header in headers:
        key = _normalise_header(header)
        target = next((f for f, names in FIELD_ALIASES.items() if key in names), None)
        target = target or by_name.get(key, "")
        if target in used:
            target = ""
        used.add(target)
        mapping.append(target)
    return mapping


def validate_mapping(mapping, headers, definitions):
    """Raise ValidationError unless exactly one column is the email and no target repeats."""
    if len(mapping) != len(headers):
        raise ValidationError(_("Map each column of the file."))
    errors = []
    if mapping.count("email") != 1:
        errors.append(_("Exactly one column must be the email address."))
    seen = set()
    for header, target in zip(headers, mapping, strict=True):
        if not target:
            continue
        if target in seen:
            errors.append(
                _("“%(column)s”: another column is already mapped to the same field.")
                % {"column": header}
            )
        seen.add(target)
        if target.startswith(PROPERTY_PREFIX):
            if target[len(PROPERTY_PREFIX) :] not in definitions:
                errors.append(
                    _("“%(column)s”: there is no contact property '%(name)s'.")
                    % {"column": header, "name": target[len(PROPERTY_PREFIX) :]}
                )
        elif target not in FIELDS:
            errors.append(_("“%(column)s”: unknown field '%(target)s'.") % {
                "column": header, "target": target
            })  # fmt: skip
    if errors:
        raise ValidationError(errors)


def parse_row(number, cells, headers, mapping, definitions):
    """The Record for one row: values cleaned and typed, or errors (column, message)."""
    record = Record(row=number)
    if len(cells) > len(headers) and any(c.strip() for c in cells[len(headers) :]):
        record.errors.append(
            (
                "",
                _("This row has %(cells)s cells but the header names %(columns)s columns.")
                % {"cells": len(cells), "columns": len(headers)},
            )
        )
    for index, target in enumerate(mapping):
        if not target:
            continue
        raw = cells[index].strip() if index < len(cells) else ""
        column = headers[index]
        if target == "email":
            email = normalize_email(raw)
            if not email:
                record.errors.append((column, _("The email address is missing.")))
                continue
            try:
                validate_email(email)
            except ValidationError:
                record.errors.append(
                    (column, _("'%(email)s' is not a valid email address.") % {"email": raw})
                )
                continue
            record.email = email
        elif not raw:
            continue  # an empty cell never erases what the contact has
        elif target.startswith(PROPERTY_PREFIX):
            prop = definitions[target[len(PROPERTY_PREFIX) :]]
            try:
                record.properties[prop.name] = coerce_value(prop.type, raw, prop.name)
            except ValidationError as exc:
                record.errors.append((column, " ".join(exc.messages)))
        else:
            limit = Contact._meta.get_field(target).max_length
            if len(raw) > limit:
                record.errors.append(
                    (column, _("At most %(limit)s characters.") % {"limit": limit})
                )
            else:
                record.fields[target] = raw
    return record


def preview(binary, *, encoding, delimiter, headers, mapping, contact_list, limit=20):
    """The first ``limit`` rows as they will be imported, each with its outcome or errors.

    Reads only the beginning of the file. Returns a list of dicts with the
    Record and ``outcome`` (a short explanation).
    """
    definitions = {p.name: p for p in ContactProperty.objects.all()}
    records, first_rows = [], {}
    for number, cells in _rows(binary, encoding, delimiter):
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
            reason = _skip_reason(contact, memberships.get(contact.pk))
            if reason:
                outcome = reason
            elif contact.pk in memberships:
                outcome = _("Existing member, updated")
            else:
                outcome = _("Existing contact, updated, joins the list")
        rows.append({"record": record, "outcome": outcome, "ok": not record.errors})
    return rows


def _skip_reason(contact, membership):
    if contact.unsubscribed_at is not None:
        return _("Skipped: this contact unsubscribed from all emails on %(date)s.") % {
            "date": timezone.localtime(contact.unsubscribed_at).date().isoformat()
        }
    if membership is not None and membership.left_at is not None:
        return _("Skipped: this contact left the list on %(date)s.") % {
            "date": timezone.localtime(membership.left_at).date().isoformat()
        }
    return None


# -- importing ---------------------------------------------------------------------


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
    definitions = {p.name: p for p in ContactProperty.objects.all()}
    validate_mapping(mapping, headers, definitions)
    chunk_size = max(int(conf.get("IMPORT_CHUNK_SIZE")), 1)
    result = ImportResult()
    writer = csv.writer(problems_file) if problems_file is not None else None
    if writer is not None:
        writer.writerow([_("row"), _("email"), _("column"), _("problem")])

    def problem(row, email, column, message):
        if writer is not None:
            writer.writerow([row, email, column, message])
        if len(result.issues) < MAX_ISSUES_SHOWN:
            result.issues.append(
                {"row": row, "email": email, "column": column, "message": str(message)}
            )

    writer_state = _ChunkWriter(
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
        for number, cells in _rows(binary, encoding, delimiter):
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


class _ChunkWriter:
    """Writes chunks of valid records with a constant number of queries each, and fires triggers."""

    def __init__(
        self, *, contact_list, definitions, source_detail, confirmed, result, problem, now
    ):
        from .conditions import parse

        self.contact_list = contact_list
        self.definitions = definitions
        self.source_detail = source_detail
        self.confirmed = confirmed
        self.result = result
        self.problem = problem
        self.fixed_now = now
        self.update_workflows = [
            (workflow, parse(workflow.trigger_conditions, definitions))
            for workflow in EmailWorkflow.objects.filter(
                status=EmailWorkflow.Status.ACTIVE,
                scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE,
            ).select_related("segment")
        ]

    def write(self, records):
        """Create, update and enroll the contacts of one chunk of valid, distinct records."""
        from .conditions import evaluate
        from .engine.entry import enter_many
        from .engine.triggers import contact_state

        now = self.fixed_now or timezone.now()
        result = self.result
        keys = [r.email.lower() for r in records]
        existing = {
            c.email.lower(): c
            for c in Contact.objects.annotate(_email=Lower("email"))
            .filter(_email__in=keys)
            .only(
                "pk", "email", "first_name", "last_name", "language", "properties",
                "unsubscribed_at",
            )
        }  # fmt: skip
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
            reason = _skip_reason(contact, membership)
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
                changed_states.append((contact, before, after))
                result.updated += 1
            else:
                result.unchanged += 1
            if membership is None:
                joiners.append(contact.pk)

        if new_contacts:
            joiners.extend(self.insert_contacts(new_contacts, now, consent_source))
        if changed:
            Contact.objects.bulk_update(
                changed, ["first_name", "last_name", "language", "properties", "updated_at"]
            )

        # As in api.subscribe: property triggers first, then the membership starts.
        for workflow, spec in self.update_workflows:
            entering = [
                contact.pk
                for contact, before, after in changed_states
                if evaluate(spec, after, properties=self.definitions)
                and not evaluate(spec, before, properties=self.definitions)
            ]
            if entering:
                result.entered += enter_many(
                    workflow,
                    Contact.objects.filter(pk__in=entering),
                    entry_key=now.isoformat() if workflow.allow_reentry else "",
                    now=now,
                )

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
            welcome = EmailWorkflow.objects.filter(
                status=EmailWorkflow.Status.ACTIVE,
                scenario=EmailWorkflow.Scenario.WELCOME,
                contact_list=self.contact_list,
                activated_at__lte=now,
            ).select_related("segment")
            for workflow in welcome:
                # membership_started's rule: re-entry is per membership spell (its joined_at).
                result.entered += enter_many(
                    workflow,
                    Contact.objects.filter(pk__in=joiners),
                    entry_key=now.isoformat() if workflow.allow_reentry else "",
                    now=now,
                )

    def insert_contacts(self, records, now, consent_source):
        """Insert new contacts (one INSERT per chunk, no model instances); return their ids."""
        at = connection.ops.adapt_datetimefield_value(now)
        json_field = Contact._meta.get_field("properties")
        _insert(
            Contact,
            ["email", "first_name", "last_name", "language", "timezone", "properties",
             "consent_at", "consent_source", "suppression_reason", "created_at", "updated_at"],
            [
                (
                    record.email,
                    record.fields.get("first_name", ""),
                    record.fields.get("last_name", ""),
                    record.fields.get("language", ""),
                    "",
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


# -- import jobs (admin and task) -----------------------------------------------------


def create_job(uploaded, *, contact_list, encoding, confirmed=False, user=None):
    """Check an uploaded file and store it as a draft ContactImport; raise ImportFileError."""
    limit = conf.get("IMPORT_MAX_BYTES")
    if limit and uploaded.size > limit:
        raise ImportFileError(
            _("The file is %(size)s MB; the largest file accepted is %(limit)s MB.")
            % {"size": round(uploaded.size / 2**20, 1), "limit": round(limit / 2**20, 1)}
        )
    discard_abandoned()
    uploaded.seek(0)
    delimiter, headers, count = inspect_file(uploaded, encoding)
    if not count:
        raise ImportFileError(_("The file has a header line but no rows to import."))
    uploaded.seek(0)
    name = os.path.basename(uploaded.name or "contacts.csv")[:255]
    job = ContactImport(
        file_name=name,
        file_size=uploaded.size,
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        mapping=propose_mapping(headers),
        contact_list=contact_list,
        confirmed=confirmed,
        rows_total=count,
        created_by=user,
    )
    job.file.save(name, File(uploaded, name=name), save=False)
    job.save()
    return job


def discard_abandoned(age=datetime.timedelta(days=1)):
    """Delete drafts uploaded more than ``age`` ago and never imported, with their files."""
    for job in ContactImport.objects.filter(
        status=ContactImport.Status.DRAFT, created_at__lt=timezone.now() - age
    ):
        if job.file:
            job.file.delete(save=False)
        job.delete()


def start_job(job):
    """Run a draft import now, or queue it in django-q2 when the file is big; returns the job.

    Only a draft moves on (a conditional update), so a double click imports once.
    """
    threshold = conf.get("IMPORT_ASYNC_BYTES")
    queue = threshold is not None and job.file_size >= threshold
    status = ContactImport.Status.QUEUED
    moved = ContactImport.objects.filter(pk=job.pk, status=ContactImport.Status.DRAFT).update(
        status=status
    )
    if not moved:
        job.refresh_from_db()
        return job
    if queue:

        def enqueue():
            from django_q.tasks import async_task

            async_task(IMPORT_TASK, job.pk, task_name=f"mailflow-import-{job.pk}",
                       group="wagtail-mailflow")  # fmt: skip

        transaction.on_commit(enqueue)
    else:
        run_job(job.pk)
    job.refresh_from_db()
    return job


def run_import_task(job_pk):
    """django-q2 entry point: run a queued import (idempotent: a finished job stays as it is)."""
    return run_job(job_pk)


def progress_key(job_pk):
    return f"wagtail_mailflow:import:{job_pk}:rows"


def run_job(job_pk):
    """Run a queued ContactImport; all or nothing. Returns the job, finished."""
    from django.core.cache import cache

    started = ContactImport.objects.filter(pk=job_pk, status=ContactImport.Status.QUEUED).update(
        status=ContactImport.Status.RUNNING, started_at=timezone.now()
    )
    job = ContactImport.objects.select_related("contact_list").get(pk=job_pk)
    if not started:
        return job

    def progress(rows):
        # Outside the import's transaction, so another process can show it (shared cache).
        cache.set(progress_key(job_pk), rows, 3600)

    problems = tempfile.TemporaryFile(mode="w+b")
    text = io.TextIOWrapper(problems, encoding="utf-8-sig", newline="")
    try:
        with job.file.open("rb") as binary:
            result = import_csv(
                binary,
                contact_list=job.contact_list,
                headers=job.headers,
                mapping=job.mapping,
                delimiter=job.delimiter,
                encoding=job.encoding,
                file_name=job.file_name,
                confirmed=job.confirmed,
                problems_file=text,
                progress=progress,
            )
    except Exception as exc:
        if isinstance(exc, ImportFileError | ValidationError):
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        else:
            logger.exception("Contact import %s failed", job_pk)
            message = _("The import failed and nothing was imported: %(error)s") % {
                "error": exc.__class__.__name__ + (f": {exc}" if str(exc) else "")
            }
        job.status = ContactImport.Status.FAILED
        job.error_message = message
        job.finished_at = timezone.now()
        if job.file:
            job.file.delete(save=False)
        job.save(update_fields=["status", "error_message", "finished_at", "file"])
        text.close()
        return job
    finally:
        cache.delete(progress_key(job_pk))
    job.status = ContactImport.Status.DONE
    job.finished_at = timezone.now()
    job.rows_total = result.rows
    job.created_count = result.created
    job.updated_count = result.updated
    job.unchanged_count = result.unchanged
    job.joined_count = result.joined
    job.skipped_count = result.skipped
    job.invalid_count = result.invalid
    job.issues = result.issues
    if result.invalid or result.skipped:
        text.flush()
        problems.seek(0)
        base = os.path.splitext(job.file_name)[0] or "contacts"
        job.errors_file.save(f"{base}-problems.csv", File(problems), save=False)
    text.close()
    # The upload holds personal data: it is not kept once imported.
    if job.file:
        job.file.delete(save=False)
    job.save()
    return job
