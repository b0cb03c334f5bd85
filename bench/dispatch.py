"""Dispatch benchmark: enter N contacts in a workflow whose first email is due at once, send them all.

    python bench/dispatch.py [--contacts N] [--database sqlite|postgres] [--batch-size B]
                             [--skip-post-office] [--skip-floor]

Everything runs in this one process on one core (no task cluster): the
contacts are entered with ``enter_many`` and sent with ``run_due`` through
Django's locmem backend. Printed, phase by phase: wall time, emails/s and
queries/email, then peak memory. In the same process and on the same compiled
email it also times

* the in-process floor: render + build_message + locmem send from plain dicts,
  no database, the most any dispatcher could reach with this email;
* django-post-office: ``mail.send(template=…, context=…)`` per contact, then
  ``send_queued`` until the queue is empty.

The database is new for every run: a SQLite file (WAL) in a temporary
directory, or for ``--database postgres`` the database named in DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/mailflow_bench), dropped and
created again. Compare memory across sizes with separate runs
(``--contacts 10000`` and ``--contacts 100000``).
"""

import argparse
import itertools
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this directory comes first on sys.path, where a module named like
# one of the standard library's would shadow it: import from the project root instead.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/mailflow_bench"
FIRST_NAMES = ("Ada", "Bruno", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustav", "Hana")

# A typical newsletter-style welcome email: about 4 KB of blocks, 20 KB of HTML.
PARAGRAPH = (
    '<p>Thanks for joining us, {{ contact.first_name|default:"friend" }}. Every month we '
    "write about what we have been building, what our readers have been making with it, and "
    "the events where you can meet the team. You can expect practical guides, a few "
    'stories from the community and, now and then, an early look at <a href="https://'
    'example.com/roadmap">what comes next</a>.</p>'
)


def email_body():
    """Raw StreamField data for the benchmark email."""
    column = [
        {"type": "heading", "value": {"text": "Guides", "level": "h2", "align": "left"}},
        {"type": "text", "value": PARAGRAPH},
        {
            "type": "button",
            "value": {
                "text": "Read the guides",
                "url": "https://example.com/guides",
                "background_color": "#2e6d8e",
                "text_color": "#ffffff",
                "align": "left",
            },
        },
    ]
    return [
        {"type": "heading", "value": {"text": "Welcome aboard", "level": "h1", "align": "left"}},
        {"type": "text", "value": PARAGRAPH},
        {"type": "text", "value": PARAGRAPH},
        {
            "type": "button",
            "value": {
                "text": "Complete your profile",
                "url": "https://example.com/profile",
                "background_color": "#2e6d8e",
                "text_color": "#ffffff",
                "align": "center",
            },
        },
        {"type": "divider", "value": {"color": "#dddddd"}},
        {"type": "two_columns", "value": {"left": column, "right": column}},
        {"type": "spacer", "value": {"height": 20}},
        {"type": "text", "value": PARAGRAPH},
    ]


# -- setting up ----------------------------------------------------------------


def configure(args, settings_module="bench.settings"):
    """Point the settings at a new database and set Django up."""
    if args.database == "postgres":
        url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
        os.environ["DATABASE_URL"] = url
        recreate_postgres_database(url)
    else:
        os.environ.pop("DATABASE_URL", None)
        directory = tempfile.mkdtemp(prefix="mailflow-bench-")
        os.environ["MAILFLOW_BENCH_SQLITE"] = str(Path(directory) / "bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def recreate_postgres_database(url):
    """Drop and create the benchmark database (connecting to the server's ``postgres`` db)."""
    import psycopg

    from wagtail_mailflow.settings_helpers import database_from_url

    db = database_from_url(url)
    name = db["NAME"]
    with psycopg.connect(
        dbname="postgres",
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def create_workflow():
    """An active two-email welcome series (now, then 3 days later) on the "Newsletter" list."""
    import datetime

    from django.utils import timezone

    from wagtail_mailflow.models import ContactList, EmailTemplate, EmailWorkflow, WorkflowStep

    contact_list = ContactList.objects.create(name="Newsletter")
    workflow = EmailWorkflow.objects.create(contact_list=contact_list, title="Welcome series")
    for position, amount in enumerate((0, 3)):
        template = EmailTemplate(
            name=f"Welcome {position + 1}",
            subject='Welcome, {{ contact.first_name|default:"friend" }}',
            preheader="Three things to try this week",
            from_email="news@example.com",
            from_name="Example",
            body=email_body(),
        )
        template.save()
        template.save_revision().publish()
        WorkflowStep.objects.create(
            workflow=workflow,
            sort_order=position,
            delay_amount=amount,
            delay_unit="days",
            template=template,
        )
    workflow.activate()
    EmailWorkflow.objects.filter(pk=workflow.pk).update(
        activated_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    workflow.refresh_from_db()
    return workflow


def create_contacts(count, contact_list):
    """``count`` subscribed contacts, written by the database itself (no Python objects)."""
    from django.db import connection
    from django.utils import timezone

    from wagtail_mailflow.models import Contact, ListMembership

    now = timezone.now()
    contacts = connection.ops.quote_name(Contact._meta.db_table)
    members = connection.ops.quote_name(ListMembership._meta.db_table)
    names = " ".join(f"WHEN {index} THEN '{name}'" for index, name in enumerate(FIRST_NAMES))
    properties = "CAST('{}' AS jsonb)" if connection.vendor == "postgresql" else "'{}'"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < %s) "
            f"INSERT INTO {contacts} (email, first_name, last_name, properties, language, "
            f"timezone, consent_at, consent_source, suppression_reason, created_at, updated_at) "
            f"SELECT 'contact' || x || '@example.com', CASE x %% {len(FIRST_NAMES)} {names} END, "
            f"'Example', {properties}, '', '', %s, 'import', '', %s, %s FROM seq",
            [count, now, now, now],
        )
        cursor.execute(
            f"INSERT INTO {members} (contact_id, contact_list_id, source, source_detail, "
            f"joined_at) SELECT id, %s, 'import', '', %s FROM {contacts}",
            [contact_list.pk, now],
        )
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# -- measuring -----------------------------------------------------------------


class QueryCounter:
    """An execute_wrapper that counts queries without keeping them."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class Phase:
    """Wall time, CPU time of this process and queries of one timed phase."""

    def __init__(self, name, counter=None):
        self.name = name
        self.counter = counter
        self.seconds = self.cpu = 0.0
        self.queries = None

    def __enter__(self):
        self._start_queries = self.counter.count if self.counter else 0
        self._cpu = time.process_time()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        self.cpu = time.process_time() - self._cpu
        if self.counter:
            self.queries = self.counter.count - self._start_queries


def rss_mb():
    """Resident memory of this process now, in MB (Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb():
    """Highest resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine():
    """One line about where the figures come from."""
    import sqlite3

    from django.db import connection

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        database = f"SQLite {sqlite3.sqlite_version} (WAL)"
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {database}; "
        f"load average {load}"
    )


# -- the three contenders --------------------------------------------------------


def run_mailflow(workflow, batch_size):
    """enter_many, then run_due until everything due is sent; returns the timed phases."""
    from django.db import connection

    from wagtail_mailflow.engine.dispatch import run_due
    from wagtail_mailflow.engine.entry import enter_many
    from wagtail_mailflow.models import Contact

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        with Phase("entry", counter) as entry:
            entered = enter_many(workflow, Contact.objects.all())
        with Phase("dispatch", counter) as dispatch:
            stats = run_due(batch_size=batch_size)
    return entered, stats, entry, dispatch


def run_floor(compiled, count, batch_size):
    """Render + build + send ``count`` emails from plain dicts: no database at all."""
    from wagtail_mailflow.sending.batch import collection_paused, send_batch
    from wagtail_mailflow.sending.messages import build_message
    from wagtail_mailflow.tokens import unsubscribe_url_maker

    contacts = (
        {
            "pk": index,
            "email": f"contact{index}@example.com",
            "first_name": FIRST_NAMES[index % len(FIRST_NAMES)],
            "last_name": "Example",
        }
        for index in range(1, count + 1)
    )
    sent = 0
    with Phase("floor") as phase:
        while chunk := tuple(itertools.islice(contacts, batch_size)):
            # As the dispatcher does once a batch: the collector paused, the link maker built.
            with collection_paused():
                messages = []
                unsubscribe_url = unsubscribe_url_maker()
                for contact in chunk:
                    url = unsubscribe_url(contact["pk"], 1)
                    rendered = compiled.render(contact, url)
                    messages.append(
                        build_message(
                            rendered,
                            to=contact["email"],
                            delivery_id=contact["pk"],
                            workflow_id=1,
                            unsubscribe_url=url,
                        )
                    )
                sent += sum(outcome.kind == "sent" for outcome in send_batch(messages))
    return sent, phase


def django_template(program):
    """A personalisation program written back as a Django template string."""
    parts = [program.literals[0]]
    for (key, default), literal in zip(program.slots, program.literals[1:], strict=True):
        name = key if key == "unsubscribe_url" else f"contact.{key}"
        parts.append(f'{{{{ {name}|default:"{default}" }}}}' if default else f"{{{{ {name} }}}}")
        parts.append(literal)
    return "".join(parts)


def run_post_office(compiled, workflow):
    """django-post-office on the same email: queue one per contact, then send_queued until empty."""
    from django.db import connection
    from post_office import mail
    from post_office.models import Email, EmailTemplate

    from wagtail_mailflow.models import Contact
    from wagtail_mailflow.tokens import unsubscribe_url_maker

    unsubscribe_url = unsubscribe_url_maker()  # the same signed link, at the same cost
    template = EmailTemplate.objects.create(
        name="welcome",
        subject=django_template(compiled.subject),
        content=django_template(compiled.text),
        html_content=django_template(compiled.html),
    )
    counter = QueryCounter()
    list_id = workflow.contact_list_id
    with connection.execute_wrapper(counter):
        with Phase("post_office queue", counter) as queue:
            rows = Contact.objects.order_by().values_list("pk", "email", "first_name", "last_name")
            for pk, email, first_name, last_name in rows.iterator(chunk_size=2000):
                url = unsubscribe_url(pk, list_id)
                mail.send(
                    recipients=[email],
                    sender=compiled.from_email,
                    template=template,
                    context={
                        "contact": {"first_name": first_name, "last_name": last_name},
                        "unsubscribe_url": url,
                    },
                    headers={
                        "List-Unsubscribe": f"<{url}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    },
                    priority="medium",
                )
        with Phase("post_office send", counter) as send:
            while True:
                sent, failed, requeued = mail.send_queued()
                if not (sent or failed or requeued):
                    break
    sent = Email.objects.filter(status=0).count()  # post_office STATUS.sent == 0
    return sent, queue, send


# -- reporting -------------------------------------------------------------------


def rate(count, seconds):
    return count / seconds if seconds else float("inf")


def line(label, count, phase, *, queries=True):
    text = (
        f"  {label:<28} {phase.seconds:8.2f} s  {rate(count, phase.seconds):8.0f} emails/s"
        f"  CPU {phase.cpu:6.2f} s {rate(count, phase.cpu):6.0f}/CPU-s"
    )
    if queries and phase.queries is not None:
        text += f"  {phase.queries:6d} queries  {phase.queries / count:.4f}/email"
    print(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default: WAGTAIL_MAILFLOW_BATCH_SIZE"
    )
    parser.add_argument("--skip-post-office", action="store_true")
    parser.add_argument("--skip-floor", action="store_true")
    args = parser.parse_args(argv)
    count = args.contacts

    configure(args)
    from django.core import mail

    from bench.backends import LocmemEmailBackend
    from wagtail_mailflow.engine.dispatch import effective_batch_size
    from wagtail_mailflow.models import Delivery, WorkflowStep
    from wagtail_mailflow.rendering import compile_revision

    batch_size = args.batch_size or effective_batch_size()
    workflow = create_workflow()
    create_contacts(count, workflow.contact_list)
    first = WorkflowStep.objects.filter(workflow=workflow).order_by("sort_order").first()
    # Compiled once per revision in every process; done here so no contender pays for it.
    compiled = compile_revision(first.template_revision_id, workflow.language)
    longest = max(len(line) for line in compiled.html.render({}).split("\n"))

    print(f"Machine: {machine()}")
    print(
        f"Email: {sum(len(part) for part in compiled.html.literals) / 1024:.1f} KB of HTML "
        f"(longest line {longest} characters); {count:,} contacts; batches of {batch_size}"
    )
    rss_before = rss_mb()

    LocmemEmailBackend.reset()
    entered, stats, entry, dispatch = run_mailflow(workflow, batch_size)
    peak_after_ours = peak_rss_mb()
    sent = Delivery.objects.filter(status=Delivery.Status.SENT).count()
    assert entered == count, f"entered {entered} of {count}"
    assert sent == count == stats.sent == LocmemEmailBackend.sent, (sent, stats, count)
    sample = LocmemEmailBackend.last or mail.outbox[-1]
    assert sample.subject.startswith("Welcome, ") and "List-Unsubscribe" in sample.extra_headers

    total = Phase("end to end")
    total.seconds = entry.seconds + dispatch.seconds
    total.cpu = entry.cpu + dispatch.cpu
    total.queries = entry.queries + dispatch.queries
    print("wagtail-mailflow")
    line("entry (enter_many)", count, entry)
    line(f"dispatch (run_due, {stats.batches} batches)", count, dispatch)
    line("end to end", count, total)
    print(
        f"  memory: {rss_before:.0f} MB resident before entry, peak {peak_after_ours:.0f} MB "
        f"after sending (+{peak_after_ours - rss_before:.0f} MB)"
    )

    if not args.skip_floor:
        LocmemEmailBackend.reset()
        floor_sent, floor = run_floor(compiled, count, batch_size)
        assert floor_sent == count
        print("In-process floor (render + build + locmem send, no database)")
        line("floor", count, floor, queries=False)
        print(
            f"  dispatch / floor: {floor.seconds / dispatch.seconds:.2f} "
            f"(CPU {floor.cpu / dispatch.cpu:.2f})   end to end / floor: "
            f"{floor.seconds / total.seconds:.2f} (CPU {floor.cpu / total.cpu:.2f})"
        )

    if not args.skip_post_office:
        LocmemEmailBackend.reset()
        po_sent, queue, send = run_post_office(compiled, workflow)
        assert po_sent == count == LocmemEmailBackend.sent, (po_sent, LocmemEmailBackend.sent)
        po_total = Phase("post_office")
        po_total.seconds = queue.seconds + send.seconds
        po_total.cpu = queue.cpu + send.cpu
        po_total.queries = queue.queries + send.queries
        print("django-post-office (mail.send with a template, then send_queued)")
        line("queue (mail.send)", count, queue)
        line("send (send_queued)", count, send)
        line("queue + send", count, po_total)
        print(
            f"  wagtail-mailflow end to end / post_office queue+send: "
            f"{po_total.seconds / total.seconds:.2f}x (CPU {po_total.cpu / total.cpu:.2f}x)"
        )
    print(f"Peak memory of the whole run: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
