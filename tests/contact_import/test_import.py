"""CSV import of contacts: reading (encodings, delimiters), mapping, per-row errors,
the rules (update not duplicate, unsubscribed skipped), all-or-nothing, triggers,
flat memory, the admin flow and the management command."""

import csv
import io
import os
import time
import tracemalloc

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone

from tests.factories import active_workflow
from wagtail_mailflow import api
from wagtail_mailflow import contact_import as service
from wagtail_mailflow.imports import run_import_task
from wagtail_mailflow.models import (
    Contact,
    ContactImport,
    ContactList,
    ContactProperty,
    EmailWorkflow,
    Enrollment,
    ListMembership,
)

pytestmark = pytest.mark.django_db

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def props():
    return {
        "city": ContactProperty.objects.create(name="city", type="text", label="City"),
        "points": ContactProperty.objects.create(name="points", type="number", label="Points"),
        "vip": ContactProperty.objects.create(name="vip", type="boolean"),
        "birthday": ContactProperty.objects.create(name="birthday", type="date"),
    }


@pytest.fixture
def newsletter():
    return ContactList.objects.get_or_create(name="Newsletter")[0]


def run(data, contact_list, mapping=None, encoding="utf-8", **kwargs):
    """Inspect then import ``data`` (bytes) the way the admin and the command do."""
    delimiter, headers, _count = service.inspect_file(io.BytesIO(data), encoding)
    mapping = mapping or service.propose_mapping(headers)
    problems = io.StringIO()
    result = service.import_csv(
        io.BytesIO(data),
        contact_list=contact_list,
        headers=headers,
        mapping=mapping,
        delimiter=delimiter,
        encoding=encoding,
        file_name="contacts.csv",
        problems_file=problems,
        **kwargs,
    )
    return result, list(csv.reader(io.StringIO(problems.getvalue())))


GOOD = (
    "Email;Prénom;Nom;Langue;City;Points;vip;birthday\r\n"
    "ada@example.com;Ada;Lovelace;en;London;12;yes;1815-12-10\r\n"
    "Bob@Example.COM;Bob;;fr;Paris;3,5;non;\r\n"
    "carla@example.com;Carla;Café;;Zürich;;;\r\n"
).encode()


# -- reading -----------------------------------------------------------------------


def test_good_file_bom_semicolons_typed_properties_source_import(props, newsletter):
    welcome = active_workflow(contact_list=newsletter, delays=((0, "days"),))
    result, problems = run(BOM + GOOD, newsletter)

    assert (result.rows, result.created, result.joined, result.invalid) == (3, 3, 3, 0)
    assert problems == [["row", "email", "column", "problem"]]
    ada = Contact.objects.get(email="ada@example.com")  # the BOM is not part of the header
    assert (ada.first_name, ada.last_name, ada.language) == ("Ada", "Lovelace", "en")
    assert ada.properties == {"city": "London", "points": 12, "vip": True, "birthday": "1815-12-10"}
    bob = Contact.objects.get_by_email("bob@example.com")
    assert bob.email == "Bob@example.com"  # the domain is lowercased, the local part kept
    assert bob.properties == {"city": "Paris", "points": 3.5, "vip": False}
    assert Contact.objects.get(email="carla@example.com").last_name == "Café"
    memberships = ListMembership.objects.filter(contact_list=newsletter)
    assert memberships.count() == 3
    assert set(memberships.values_list("source", "source_detail")) == {("import", "contacts.csv")}
    assert ada.consent_source == "import:contacts.csv"
    # Every new member entered the welcome workflow, with its first delivery.
    assert Enrollment.objects.filter(workflow=welcome).count() == 3
    assert welcome.deliveries.count() == 3
    assert result.entered == 3


def test_delimiters_are_sniffed(newsletter):
    for delimiter in (",", ";", "\t"):
        data = f"email{delimiter}first_name\nx{ord(delimiter)}@example.com{delimiter}X\n"
        found, headers, count = service.inspect_file(io.BytesIO(data.encode()), "utf-8")
        assert (found, headers, count) == (delimiter, ["email", "first_name"], 1)
    # One column: nothing to sniff, still read.
    assert service.inspect_file(io.BytesIO(b"email\na@example.com\n"), "utf-8")[1] == ["email"]


def test_latin1_bytes_as_utf8_is_a_clear_error_naming_line_and_byte(newsletter):
    data = "email,last_name\na@example.com,Dupont\nb@example.com,Hélène\n".encode("latin-1")
    with pytest.raises(service.ImportFileError) as exc:
        service.inspect_file(io.BytesIO(data), "utf-8")
    message = str(exc.value)
    assert "not valid UTF-8" in message
    assert "line 3" in message
    offset = data.index(b"\xe9")
    assert f"byte {offset}" in message
    assert "0xe9" in message
    # The same bytes read as Latin-1, when the editor says so.
    result, _problems = run(data, newsletter, encoding="latin-1")
    assert result.created == 2
    assert Contact.objects.get(email="b@example.com").last_name == "Hélène"


def test_invalid_byte_far_in_a_big_file_is_found(newsletter):
    lines = [b"email\n"] + [f"c{i}@example.com\n".encode() for i in range(20000)]
    lines[15000] = b"bad\xff@example.com\n"
    data = b"".join(lines)
    with pytest.raises(service.ImportFileError, match="line 15001"):
        service.inspect_file(io.BytesIO(data), "utf-8")


def test_abandoned_drafts_are_discarded_on_the_next_upload(newsletter):
    old = service.create_job(
        SimpleUploadedFile("old.csv", b"email\na@example.com\n"),
        contact_list=newsletter,
        encoding="utf-8",
    )
    name = old.file.name
    ContactImport.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=2)
    )
    service.create_job(
        SimpleUploadedFile("new.csv", b"email\nb@example.com\n"),
        contact_list=newsletter,
        encoding="utf-8",
    )
    assert list(ContactImport.objects.values_list("file_name", flat=True)) == ["new.csv"]
    assert not old.file.storage.exists(name)


def test_header_only_or_empty_file_is_refused(newsletter):
    with pytest.raises(service.ImportFileError, match="empty"):
        service.inspect_file(io.BytesIO(b""), "utf-8")
    upload = SimpleUploadedFile("x.csv", b"email\n")
    with pytest.raises(service.ImportFileError, match="no rows"):
        service.create_job(upload, contact_list=newsletter, encoding="utf-8")


def test_propose_mapping_by_header_name(props):
    headers = ["E-mail", "First name", "Surname", "lang", "CITY", "Loyalty", "Points", "email"]
    assert service.propose_mapping(headers) == [
        "email",
        "first_name",
        "last_name",
        "language",
        "property:city",
        "",
        "property:points",
        "",  # a second email column is not proposed twice
    ]


def test_mapping_needs_exactly_one_email_and_no_repeats(props):
    definitions = {p.name: p for p in props.values()}
    headers = ["a", "b"]
    with pytest.raises(Exception, match="Exactly one column must be the email"):
        service.validate_mapping(["", "first_name"], headers, definitions)
    with pytest.raises(Exception, match="already mapped"):
        service.validate_mapping(["email", "email"], headers, definitions)
    with pytest.raises(Exception, match="no contact property 'nope'"):
        service.validate_mapping(["email", "property:nope"], headers, definitions)


# -- per-row errors ----------------------------------------------------------------


def test_bad_rows_reported_with_row_numbers_and_good_rows_imported(props, newsletter):
    data = (
        b"email,points,birthday,vip\n"
        b"good1@example.com,1,2000-01-01,yes\n"
        b"not-an-email,2,,\n"
        b"good2@example.com,many,,\n"
        b",3,,\n"
        b"good3@example.com,4,2000-13-45,maybe\n"
        b"good4@example.com,5,,\n"
    )
    result, problems = run(data, newsletter)
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "good1@example.com",
        "good4@example.com",
    }
    assert (result.rows, result.created, result.invalid) == (6, 2, 4)
    rows = [(p[0], p[2]) for p in problems[1:]]
    assert rows == [
        ("3", "email"),
        ("4", "points"),
        ("5", "email"),
        ("6", "birthday"),
        ("6", "vip"),
    ]
    messages = {(p[0], p[2]): p[3] for p in problems[1:]}
    assert "'not-an-email' is not a valid email address" in messages[("3", "email")]
    assert "'many' is not a number" in messages[("4", "points")]
    assert "missing" in messages[("5", "email")]
    assert "not a date" in messages[("6", "birthday")]
    assert result.issues[0] == {
        "row": 3,
        "email": "not-an-email",
        "column": "email",
        "message": messages[("3", "email")],
    }


def test_duplicate_emails_in_file_first_wins_across_chunks(settings, props, newsletter):
    settings.WAGTAIL_MAILFLOW_IMPORT_CHUNK_SIZE = 2
    data = (
        b"email,first_name\n"
        b"dup@example.com,First\n"
        b"other@example.com,Other\n"
        b"DUP@example.com,Second\n"  # next chunk, another case: still a duplicate
        b"third@example.com,Third\n"
        b"other@EXAMPLE.com,Again\n"  # a later chunk again: duplicate of row 3
    )
    result, problems = run(data, newsletter)
    assert Contact.objects.count() == 3
    assert Contact.objects.get_by_email("dup@example.com").first_name == "First"
    assert Contact.objects.get_by_email("other@example.com").first_name == "Other"
    assert result.invalid == 2
    assert [(p[0], p[3]) for p in problems[1:]] == [
        ("4", "Duplicate of row 2: only the first is imported."),
        ("6", "Duplicate of row 3: only the first is imported."),
    ]


def test_duplicates_within_one_chunk(props, newsletter):
    result, problems = run(b"email\na@example.com\nA@example.com\n", newsletter)
    assert Contact.objects.count() == 1
    assert problems[1][0] == "3" and "row 2" in problems[1][3]


# -- the rules ---------------------------------------------------------------------


def test_existing_contact_updated_not_duplicated_and_empty_cells_keep_values(props, newsletter):
    contact, _m, _j = api.subscribe(
        "Ada@Example.com", newsletter, first_name="Ada", properties={"city": "Paris", "points": 1}
    )
    other = ContactList.objects.create(name="Other")
    existing_elsewhere, _m, _j = api.subscribe("zed@example.com", other)
    data = b"email,city,points,first_name\nada@EXAMPLE.COM,Lyon,,\nzed@example.com,,,Zed\n"
    result, _problems = run(data, newsletter)
    assert Contact.objects.count() == 2
    contact.refresh_from_db()
    assert contact.properties == {"city": "Lyon", "points": 1}  # empty cell: unchanged
    assert contact.first_name == "Ada"
    assert ListMembership.objects.filter(contact=contact).count() == 1
    membership = ListMembership.objects.get(contact=contact)
    assert membership.source == "api"  # an existing member's membership is left as it was
    joined = ListMembership.objects.get(contact=existing_elsewhere, contact_list=newsletter)
    assert joined.source == "import"
    assert (result.created, result.updated, result.joined) == (0, 2, 1)
    # Importing the same file again changes nothing.
    again, _problems = run(data, newsletter)
    assert (again.created, again.updated, again.unchanged, again.joined) == (0, 0, 2, 0)


def test_unsubscribed_contacts_are_not_resubscribed_and_reported(props, newsletter):
    gone, _m, _j = api.subscribe("gone@example.com", newsletter, properties={"city": "Paris"})
    api.unsubscribe(gone)
    left, _m, _j = api.subscribe("left@example.com", newsletter)
    api.unsubscribe(left, newsletter)
    welcome = active_workflow(contact_list=newsletter, delays=((0, "days"),))
    data = b"email,city\ngone@example.com,Lyon\nleft@example.com,Lyon\nnew@example.com,Lyon\n"
    result, problems = run(data, newsletter)
    assert (result.created, result.skipped, result.invalid) == (1, 2, 0)
    gone.refresh_from_db()
    assert gone.unsubscribed_at is not None and gone.properties == {"city": "Paris"}
    assert ListMembership.objects.get(contact=left).left_at is not None
    assert not Enrollment.objects.filter(contact__in=[gone, left]).exists()
    assert Enrollment.objects.filter(workflow=welcome).count() == 1
    reasons = {p[1]: p[3] for p in problems[1:]}
    assert "unsubscribed from all emails" in reasons["gone@example.com"]
    assert "left the list" in reasons["left@example.com"]


def test_welcome_only_for_new_members_and_workflows_active_before(props, newsletter):
    member, _m, _j = api.subscribe("member@example.com", newsletter)
    welcome = active_workflow(contact_list=newsletter, delays=((0, "days"),))
    later = active_workflow(contact_list=newsletter, delays=((0, "days"),), title="Later")
    EmailWorkflow.objects.filter(pk=later.pk).update(
        activated_at=timezone.now() + timezone.timedelta(hours=1)
    )
    run(b"email\nmember@example.com\nfresh@example.com\n", newsletter)
    entered = set(Enrollment.objects.values_list("workflow_id", "contact__email"))
    assert entered == {(welcome.pk, "fresh@example.com")}


def test_reentry_workflow_gets_the_membership_joined_at_key(props, newsletter):
    welcome = active_workflow(contact_list=newsletter, delays=((0, "days"),), allow_reentry=True)
    now = timezone.now()
    run(b"email\nfresh@example.com\n", newsletter, now=now)
    enrollment = Enrollment.objects.get(workflow=welcome)
    membership = ListMembership.objects.get(contact=enrollment.contact)
    assert membership.joined_at == now
    assert enrollment.entry_key == now.isoformat()


def test_property_changes_enter_contact_update_workflows_set_based(props, newsletter):
    loyalty = active_workflow(
        title="Loyalty",
        contact_list=newsletter,
        scenario=EmailWorkflow.Scenario.PROPERTY_UPDATE,
        trigger_conditions={
            "match": "all",
            "conditions": [{"field": "points", "operator": "gte", "value": 100}],
        },
        delays=((0, "days"),),
    )
    low, _m, _j = api.subscribe("low@example.com", newsletter, properties={"points": 10})
    high, _m, _j = api.subscribe("high@example.com", newsletter, properties={"points": 150})
    data = (
        b"email,points\n"
        b"low@example.com,120\n"  # false -> true: enters
        b"high@example.com,200\n"  # true -> true: does not
        b"new@example.com,500\n"  # a new contact is not a property change (as api.subscribe)
    )
    run(data, newsletter)
    assert list(Enrollment.objects.filter(workflow=loyalty).values_list("contact", flat=True)) == [
        low.pk
    ]


def test_confirmed_option_for_double_opt_in_lists(props):
    optin = ContactList.objects.create(name="Opt-in", double_opt_in=True)
    run(b"email\na@example.com\n", optin, confirmed=True)
    run(b"email\nb@example.com\n", ContactList.objects.get(pk=optin.pk))
    assert ListMembership.objects.get(contact__email="a@example.com").confirmed_at is not None
    assert ListMembership.objects.get(contact__email="b@example.com").confirmed_at is None


# -- all or nothing ----------------------------------------------------------------


def test_fatal_error_mid_way_leaves_nothing(settings, monkeypatch, props, newsletter):
    settings.WAGTAIL_MAILFLOW_IMPORT_CHUNK_SIZE = 10
    existing, _m, _j = api.subscribe("existing@example.com", newsletter, properties={"points": 1})
    active_workflow(contact_list=newsletter, delays=((0, "days"),))
    rows = ["email,points"] + [f"c{i}@example.com,{i}" for i in range(45)]
    rows.insert(5, "existing@example.com,99")
    data = ("\n".join(rows) + "\n").encode()
    before = (Contact.objects.count(), ListMembership.objects.count(), Enrollment.objects.count())

    original = service.applying.ChunkWriter.write
    calls = []

    def failing_write(self, records):
        calls.append(len(records))
        if len(calls) == 3:
            raise DatabaseError("disk I/O error")
        return original(self, records)

    monkeypatch.setattr(service.applying.ChunkWriter, "write", failing_write)
    with pytest.raises(DatabaseError):
        run(data, newsletter)
    assert len(calls) == 3  # two chunks had been written before the failure
    after = (Contact.objects.count(), ListMembership.objects.count(), Enrollment.objects.count())
    assert after == before
    existing.refresh_from_db()
    assert existing.properties == {"points": 1}


def test_file_unreadable_mid_way_fails_the_job_and_leaves_nothing(settings, newsletter):
    settings.WAGTAIL_MAILFLOW_IMPORT_CHUNK_SIZE = 10
    settings.WAGTAIL_MAILFLOW_IMPORT_ASYNC_BYTES = None
    good = b"email\n" + b"".join(f"c{i}@example.com\n".encode() for i in range(50))
    job = service.create_job(
        SimpleUploadedFile("c.csv", good), contact_list=newsletter, encoding="utf-8"
    )
    # The stored file is replaced by one that breaks after 30 rows (a corrupted upload).
    broken = good.replace(b"c30@", b"c\xff30@")
    job.file.storage.delete(job.file.name)
    job.file.storage.save(job.file.name, io.BytesIO(broken))
    job = service.start_job(job)
    assert job.status == ContactImport.Status.FAILED
    assert "line 32" in job.error_message
    assert not job.file  # personal data is not kept after a failure either
    assert Contact.objects.count() == 0 and ListMembership.objects.count() == 0


# -- flat memory -------------------------------------------------------------------


def _generated(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("email;first_name;last_name;points;city\n")
        for i in range(rows):
            fh.write(f"person{i}@example.com;First{i};Last{i};{i % 1000};City {i % 97}\n")


def _measure(path, contact_list):
    delimiter, headers, _count = service.inspect_file(open(path, "rb"), "utf-8")
    mapping = service.propose_mapping(headers)
    tracemalloc.start()
    started = time.monotonic()
    with open(path, "rb") as binary:
        result = service.import_csv(
            binary,
            contact_list=contact_list,
            headers=headers,
            mapping=mapping,
            delimiter=delimiter,
            file_name=os.path.basename(path),
        )
    elapsed = time.monotonic() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak, elapsed


def test_memory_stays_flat_as_rows_grow(tmp_path, props):
    """Peak memory of an import does not grow with the number of rows.

    Compares 20,000 with 60,000 rows by default; MAILFLOW_IMPORT_BENCH=1 compares
    10,000 with 100,000 (slower).
    """
    small, big = (10_000, 100_000) if os.environ.get("MAILFLOW_IMPORT_BENCH") else (20_000, 60_000)
    figures = {}
    for rows in (small, big):
        path = tmp_path / f"{rows}.csv"
        _generated(path, rows)
        contact_list = ContactList.objects.create(name=f"List {rows}")
        result, peak, elapsed = _measure(path, contact_list)
        assert (result.created, result.joined, result.invalid) == (rows, rows, 0)
        figures[rows] = peak
        print(f"{rows} rows: {elapsed:.1f} s, peak {peak / 2**20:.2f} MiB")
        Contact.objects.all().delete()
    assert figures[big] < 1.5 * figures[small], figures
    assert ListMembership.objects.count() == 0  # the contacts (and memberships) were removed


# -- the admin ---------------------------------------------------------------------


def _upload(client, data, contact_list, name="contacts.csv", **extra):
    return client.post(
        reverse("mailflow_imports:upload"),
        {
            "file": SimpleUploadedFile(name, data, content_type="text/csv"),
            "contact_list": contact_list.pk,
            "encoding": "utf-8",
            **extra,
        },
    )


def test_admin_flow_end_to_end(admin_client, props, newsletter, django_capture_on_commit_callbacks):
    api.subscribe("old@example.com", newsletter, properties={"points": 1})
    welcome = active_workflow(contact_list=newsletter, delays=((0, "days"),))
    # The contacts and lists listings link to the import.
    for url in (reverse("mailflow_contacts:index"), reverse("mailflow_lists:index")):
        assert reverse("mailflow_imports:upload") in admin_client.get(url).content.decode()

    data = (
        BOM
        + (
            "E-mail;Prénom;Score;Notes\n"
            "ada@example.com;Ada;12;vip\n"
            "bad-address;Bob;3;\n"
            "old@example.com;Old;x;\n"
            "carla@example.com;Carla;7;\n"
        ).encode()
    )
    response = _upload(admin_client, data, newsletter)
    job = ContactImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("mailflow_imports:mapping", args=[job.pk])
    assert job.delimiter == ";" and job.headers == ["E-mail", "Prénom", "Score", "Notes"]
    assert job.rows_total == 4 and job.status == ContactImport.Status.DRAFT

    html = admin_client.get(response["Location"]).content.decode()
    assert "For example: ada@example.com, bad-address, old@example.com" in html
    assert '<option value="email" selected>' in html  # proposed from the header

    # No email column: refused with a message, nothing saved.
    mapping_url = reverse("mailflow_imports:mapping", args=[job.pk])
    response = admin_client.post(
        mapping_url,
        {"column_0": "", "column_1": "first_name", "column_2": "property:points", "column_3": ""},
    )
    assert response.status_code == 400
    assert "Exactly one column must be the email address." in response.content.decode()
    response = admin_client.post(
        mapping_url,
        {"column_0": "email", "column_1": "first_name", "column_2": "property:points"},
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.mapping == ["email", "first_name", "property:points", ""]

    preview_url = reverse("mailflow_imports:preview", args=[job.pk])
    html = admin_client.get(preview_url).content.decode()
    assert "&#x27;bad-address&#x27; is not a valid email address." in html
    assert "&#x27;x&#x27; is not a number." in html
    assert "New contact, joins the list" in html
    assert Contact.objects.count() == 1  # the preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(preview_url)
    result_url = reverse("mailflow_imports:result", args=[job.pk])
    assert response["Location"] == result_url
    job.refresh_from_db()
    assert job.status == ContactImport.Status.DONE
    assert (job.created_count, job.invalid_count, job.joined_count) == (2, 2, 2)
    assert not job.file  # the upload is not kept
    html = admin_client.get(result_url).content.decode()
    assert 'data-row="3"' in html and 'data-row="4"' in html
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "ada@example.com",
        "carla@example.com",
        "old@example.com",
    }
    assert Enrollment.objects.filter(workflow=welcome).count() == 2

    download = admin_client.get(reverse("mailflow_imports:problems", args=[job.pk]))
    assert download.status_code == 200
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == ["row", "email", "column", "problem"]
    assert [(r[0], r[2]) for r in rows[1:]] == [("3", "E-mail"), ("4", "Score")]

    # Posting the import again does not import twice.
    admin_client.post(preview_url)
    assert Contact.objects.count() == 3
    assert "contacts.csv" in admin_client.get(reverse("mailflow_imports:index")).content.decode()


def test_admin_upload_errors_are_form_errors(admin_client, newsletter, settings):
    latin = "email,last_name\nb@example.com,Hélène\n".encode("latin-1")
    response = _upload(admin_client, latin, newsletter)
    assert response.status_code == 400
    html = response.content.decode()
    assert "not valid UTF-8: line 2" in html
    assert not ContactImport.objects.exists()
    # Chosen as Latin-1, it goes through.
    response = _upload(admin_client, latin, newsletter, encoding="latin-1")
    assert response.status_code == 302

    settings.WAGTAIL_MAILFLOW_IMPORT_MAX_BYTES = 10
    response = _upload(admin_client, b"email\na@example.com\n", newsletter)
    assert response.status_code == 400
    assert "the largest file accepted is 10" in response.content.decode()


def test_big_file_runs_in_a_task_with_a_result_page(
    admin_client, settings, newsletter, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_MAILFLOW_IMPORT_ASYNC_BYTES = 100
    data = b"email\n" + b"".join(f"c{i}@example.com\n".encode() for i in range(20))
    _upload(admin_client, data, newsletter)
    job = ContactImport.objects.get()
    preview_url = reverse("mailflow_imports:preview", args=[job.pk])
    assert "imported in the background" in admin_client.get(preview_url).content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(preview_url)
    job.refresh_from_db()
    assert job.status == ContactImport.Status.QUEUED  # waits for the task
    html = admin_client.get(reverse("mailflow_imports:result", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' in html
    for callback in callbacks:  # the task queued on commit (Q_CLUSTER is sync in tests)
        callback()
    job.refresh_from_db()
    assert job.status == ContactImport.Status.DONE and job.created_count == 20
    assert Contact.objects.count() == 20
    # The task is idempotent: running it again does nothing.
    run_import_task(job.pk)
    assert ContactImport.objects.get(pk=job.pk).created_count == 20


def test_permission_refusal(client, newsletter):
    user = get_user_model().objects.create_user("editor", "editor@example.com", "pw")
    group = Group.objects.create(name="Viewers")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_contact"),
        Permission.objects.get(codename="add_contact"),
    )
    user.groups.add(group)
    client.force_login(user)
    # Wagtail's refusal: back to the dashboard with "you do not have permission".
    response = client.get(reverse("mailflow_imports:upload"), follow=True)
    assert response.redirect_chain == [(reverse("wagtailadmin_home"), 302)]
    assert "do not have permission" in response.content.decode()
    for url in (reverse("mailflow_imports:index"), reverse("mailflow_imports:upload")):
        assert client.get(url)["Location"] == reverse("wagtailadmin_home")
    response = _upload(client, b"email\na@example.com\n", newsletter)
    assert response.status_code == 302
    assert not ContactImport.objects.exists() and not Contact.objects.exists()
    html = client.get(reverse("mailflow_contacts:index")).content.decode()
    assert reverse("mailflow_imports:upload") not in html
    group.permissions.add(Permission.objects.get(codename="change_contact"))
    assert client.get(reverse("mailflow_imports:upload")).status_code == 200


# -- the command -------------------------------------------------------------------


def test_command_imports_with_mapping(tmp_path, props, newsletter, capsys):
    path = tmp_path / "people.csv"
    path.write_bytes(BOM + b"Courriel\tWho\tScore\nann@example.com\tAnn\t5\nbad\tBad\t1\n")
    problems = tmp_path / "problems.csv"
    out = io.StringIO()
    call_command(
        "mailflow_import_contacts",
        str(path),
        "--list",
        "Newsletter",
        "--map",
        "Who=first_name",
        "--map",
        "3=points",
        "--problems",
        str(problems),
        stdout=out,
        stderr=io.StringIO(),
    )
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.first_name == "Ann" and ann.properties == {"points": 5}
    assert ListMembership.objects.get(contact=ann).source_detail == "people.csv"
    assert "1 new contacts" in out.getvalue() and "1 with errors" in out.getvalue()
    assert "3,bad,Courriel" in problems.read_text(encoding="utf-8-sig")


def test_command_errors(tmp_path, newsletter):
    path = tmp_path / "x.csv"
    path.write_bytes(b"email\na@example.com\n")
    with pytest.raises(CommandError, match="no contact list 'Nope'"):
        call_command("mailflow_import_contacts", str(path), "--list", "Nope")
    with pytest.raises(CommandError, match="No column 'zzz'"):
        call_command(
            "mailflow_import_contacts", str(path), "--list", "Newsletter", "--map", "zzz=email"
        )
    with pytest.raises(CommandError, match="neither a contact field"):
        call_command(
            "mailflow_import_contacts", str(path), "--list", "Newsletter", "--map", "1=nope"
        )
    path.write_bytes("email\nhé@example.com\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not valid UTF-8"):
        call_command("mailflow_import_contacts", str(path), "--list", "Newsletter")
    assert not Contact.objects.exists()
