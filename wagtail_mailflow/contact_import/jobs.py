"""Import jobs: an uploaded file stored as a draft, started in the request or queued, then run."""

import datetime
import io
import logging
import os
import tempfile

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import conf, signals
from ..models import ContactImport
from .applying import import_csv, undo_abandoned
from .mapping import propose_mapping
from .reading import ImportFileError, inspect_file

logger = logging.getLogger(__name__)


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
    """Delete drafts uploaded more than ``age`` ago and never imported, with their files.

    Also undoes the imports staged more than ``age`` ago and never finished (their
    process died half-way), so that they too leave nothing.
    """
    undo_abandoned(age)
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
        signals.import_queued.send(sender=ContactImport, import_id=job.pk)
    else:
        run_job(job.pk)
    job.refresh_from_db()
    return job


def progress_key(job_pk):
    """The cache key under which a running import publishes how many rows it has read."""
    return f"wagtail_mailflow:import:{job_pk}:rows"


def run_job(job_pk):
    """Run a queued ContactImport; all or nothing (a finished job stays as it is). Returns it."""
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
