"""Importing contacts from a CSV file into a list, in flat memory and all or nothing.

``reading`` streams and checks the file, ``mapping`` maps its columns and types
each row, ``applying`` writes the rows and fires the triggers, ``jobs`` stores
an upload as a draft and runs it in the request or in the task queue.

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

from .applying import MAX_ISSUES_SHOWN, ImportResult, import_csv, preview
from .jobs import create_job, discard_abandoned, progress_key, run_job, start_job
from .mapping import (
    FIELDS,
    PROPERTY_PREFIX,
    Record,
    parse_row,
    propose_mapping,
    target_choices,
    validate_mapping,
)
from .reading import ImportFileError, inspect_file, read_rows

__all__ = [
    "FIELDS",
    "MAX_ISSUES_SHOWN",
    "PROPERTY_PREFIX",
    "ImportFileError",
    "ImportResult",
    "Record",
    "create_job",
    "discard_abandoned",
    "import_csv",
    "inspect_file",
    "parse_row",
    "preview",
    "progress_key",
    "propose_mapping",
    "read_rows",
    "run_job",
    "start_job",
    "target_choices",
    "validate_mapping",
]
