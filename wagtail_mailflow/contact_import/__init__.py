"""Importing contacts from a CSV file into a list, in flat memory and all or nothing.

``reading`` streams and checks the file, ``mapping`` maps its columns and types
each row, ``applying`` writes the rows and fires the triggers, ``jobs`` stores
an upload as a draft and runs it in the request or in the task queue.

The file is streamed: it is decoded piece by piece and parsed row by row, and
its valid rows are staged in the ``StagedImportRow`` table in chunks of
``WAGTAIL_MAILFLOW_IMPORT_CHUNK_SIZE`` rows (duplicates within the file are found
there), so memory does not grow with the number of rows. Only once the whole
file has been read are the staged rows applied, a chunk per short transaction
with a constant number of queries (existing contacts are matched by lowercased
address, new contacts and memberships are inserted in bulk, changed contacts
bulk-updated), each chunk recording what it changed.

An import is all or nothing without holding the database's write lock for its
whole length: a file that turns out to be unreadable half-way is found while
staging, before any contact changed; a fatal error while applying (a database
error) undoes the chunks already applied. Between two chunks, signups,
unsubscribes and the workers write as usual. Rows with errors are not fatal:
they are reported (row, column, message) and skipped, and the valid rows are
imported. New addresses with a do-not-contact record (erased after they
unsubscribed or bounced) are skipped and reported.

Triggers fire set-based once every row is in, and follow the Python API's rules: contacts whose
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
