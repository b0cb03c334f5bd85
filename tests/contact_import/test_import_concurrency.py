"""Signups and unsubscribes go through while a CSV import runs (SQLite, a file in WAL mode).

The import runs in a thread of its own with its own connection; it stops after
its first chunk of contacts is written (in its ``progress`` callback) while the
main thread, through the public views, unsubscribes a contact in one click and
signs a new visitor up. The connections wait at most two seconds for SQLite's
write lock: an import holding it for its whole length makes both fail with
"database is locked" (500). Then the import finishes, all of it.
"""

import io
import sqlite3
import threading

import pytest
from django.db import connections
from django.test import Client

from tests.signup_helpers import form_of, render_tag
from wagtail_mailflow import api
from wagtail_mailflow import contact_import as service
from wagtail_mailflow.models import Contact, ContactList, ListMembership
from wagtail_mailflow.tokens import unsubscribe_path

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("signup_state")]

ROWS = 300
WAIT = 60  # seconds a thread waits for the other before the test gives up


def file_database(tmp_path):
    """The test database copied to a file in WAL mode; a function opening connections to it."""
    memory = connections["default"]
    if memory.vendor != "sqlite":
        pytest.skip("about SQLite's single writer")
    memory.ensure_connection()
    path = tmp_path / "mailflow.sqlite3"
    target = sqlite3.connect(path)
    memory.connection.backup(target)
    target.execute("PRAGMA journal_mode=WAL")
    target.close()
    options = {**memory.settings_dict.get("OPTIONS", {}), "timeout": 2}
    settings_dict = {**memory.settings_dict, "NAME": str(path), "OPTIONS": options}

    def connect():
        """Point this thread's default connection at the file; returns the connection."""
        wrapper = memory.__class__(dict(settings_dict), "default")
        connections["default"] = wrapper
        return wrapper

    return memory, connect


@pytest.fixture
def on_file(tmp_path):
    memory, connect = file_database(tmp_path)
    main = connect()
    yield connect
    main.close()
    connections["default"] = memory


def test_unsubscribe_and_signup_succeed_during_an_import(on_file, settings):
    settings.WAGTAIL_MAILFLOW_IMPORT_CHUNK_SIZE = 50
    settings.WAGTAIL_MAILFLOW_SUBSCRIBE_RATE = None
    newsletter = ContactList.objects.create(name="Newsletter")
    leaver, _membership, _joined = api.subscribe("leaver@example.com", newsletter)
    data = ("email\n" + "".join(f"row{i}@example.com\n" for i in range(ROWS))).encode()
    delimiter, headers, _count = service.inspect_file(io.BytesIO(data), "utf-8")
    form_html = render_tag()

    paused, resume = threading.Event(), threading.Event()
    outcome = {}

    def progress(rows):
        if not paused.is_set() and Contact.objects.filter(email__startswith="row").exists():
            paused.set()
            resume.wait(WAIT)

    def run_import():
        connection = on_file()
        try:
            outcome["result"] = service.import_csv(
                io.BytesIO(data),
                contact_list=newsletter,
                headers=headers,
                mapping=service.propose_mapping(headers),
                delimiter=delimiter,
                progress=progress,
            )
        except Exception as exc:  # reported by the assertions below
            outcome["error"] = exc
        finally:
            paused.set()
            connection.close()

    thread = threading.Thread(target=run_import)
    thread.start()
    try:
        assert paused.wait(WAIT)
        assert "error" not in outcome, outcome
        client = Client(raise_request_exception=False)
        unsubscribed = client.post(
            unsubscribe_path(leaver.pk, newsletter.pk),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        action, config = form_of(form_html)
        signed_up = client.post(action, {"form": config, "email": "visitor@example.com"})
        # The import was half-way: some of its contacts were written, not all.
        halfway = Contact.objects.filter(email__startswith="row").count()
    finally:
        resume.set()
        thread.join(WAIT)

    assert unsubscribed.status_code == 200
    assert 0 < halfway < ROWS
    assert signed_up.status_code in (200, 303)
    assert ListMembership.objects.get(contact=leaver).left_at is not None
    visitor = Contact.objects.get(email="visitor@example.com")
    assert ListMembership.objects.filter(contact=visitor, contact_list=newsletter).exists()
    # The import went on and finished: every row is in.
    assert "error" not in outcome, outcome
    assert (outcome["result"].created, outcome["result"].joined) == (ROWS, ROWS)
    assert Contact.objects.filter(email__startswith="row").count() == ROWS
