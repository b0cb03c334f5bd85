"""Statistics benchmark: one workflow with 1,000,000 deliveries on PostgreSQL, then its statistics.

    python bench/statistics_page.py [--deliveries N] [--steps S] [--other N] [--repeat R] [--explain]

The database named in DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/mailflow_bench_stats) is dropped and created
again, migrated, and filled with set-based inserts (``INSERT … SELECT
generate_series``): N/S contacts, each entered once into a workflow of S emails
and sent every email, over the last 90 days (97 % sent, 2 % failed, 1 %
suppressed), with a realistic share of ESP events (about 1.4 per sent email:
95 % delivered, 30 % opened and a third of those opened again, 6 % clicked,
2 % bounced, 0.5 % rejected, 0.3 % unsubscribed, 0.1 % spam complaints). Each
delivery's first-event times (``delivered_at``, ``opened_at``, …) are drawn
first and its events written from them, so both agree as the tracking receiver
keeps them. ``--other`` more deliveries go to a second workflow, so the queries
must pick one workflow's rows.

Printed: the time to build the data, then for the last 7, 30 and 90 days the
best and median of R runs of the statistics queries, and of the whole admin
page (HTML, chart included) through Django's test client, with their query counts.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Import the project from its root, never a module of this directory in place of a
# standard one.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mailflow_bench_stats"

#: (event type, delivery field, id suffix, probability for a sent email, hours after sending)
EVENTS = [
    ("delivered", "delivered_at", "d", 0.95, 0.01),
    ("opened", "opened_at", "o1", 0.30, 2),
    ("clicked", "clicked_at", "c", 0.06, 3),
    ("bounced", "bounced_at", "b", 0.02, 0.02),
    ("rejected", "rejected_at", "r", 0.005, 0.01),
    ("unsubscribed", "unsubscribed_at", "u", 0.003, 4),
    ("complained", "complained_at", "s", 0.001, 5),
]
#: Share of the opened emails opened a second time, and when (hours after sending).
OPENED_AGAIN = (1 / 3, 30)


def setup_django(url, recreate=True):
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.testapp.settings"
    if recreate:
        from bench.dispatch import recreate_postgres_database

        recreate_postgres_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_workflow(title, steps):
    from tests.factories import active_workflow

    return active_workflow(
        delays=[(n, "days") for n in range(steps)], title=title, timezone="Europe/Paris"
    )


def fill(workflow, deliveries, prefix):
    """Contacts, enrollments, deliveries and events for ``workflow``, all in SQL."""
    from django.db import connection

    from wagtail_mailflow.models import Contact, Delivery, DeliveryEvent, Enrollment

    step_ids = list(workflow.steps.order_by("sort_order").values_list("pk", flat=True))
    contacts = -(-deliveries // len(step_ids))
    contact_t, enrol_t = Contact._meta.db_table, Enrollment._meta.db_table
    delivery_t, event_t = Delivery._meta.db_table, DeliveryEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {contact_t} (email, first_name, last_name, properties, language, timezone,
                                     consent_at, consent_source, suppression_reason,
                                     created_at, updated_at)
            SELECT %s || g || '@example.com', 'Ada', 'Lovelace', '{{}}'::jsonb, '', '',
                   now(), 'bench', '', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [prefix, contacts],
        )
        # A third still inside the workflow, the rest completed.
        cursor.execute(
            f"""
            INSERT INTO {enrol_t} (workflow_id, contact_id, entry_key, status, exit_reason,
                                   entered_at)
            SELECT %s, c.id, '', CASE WHEN c.id %% 3 = 0 THEN 'active' ELSE 'completed' END, '',
                   now() - interval '90 days' * random()
            FROM {contact_t} c WHERE c.email LIKE %s
            """,
            [workflow.pk, f"{prefix}%"],
        )
        # Each sent email's first-event times, drawn independently per type: "+ e.id * 0"
        # keeps random() per row (a constant expression would be evaluated once).
        firsts = ", ".join(
            f"CASE WHEN r.x < 0.97 AND random() + e.id * 0 < {p} "
            f"THEN r.at + interval '1 hour' * {lag} END"
            for _type, _field, _suffix, p, lag in EVENTS
        )
        columns = ", ".join(field for _type, field, _suffix, _p, _lag in EVENTS)
        cursor.execute(
            f"""
            INSERT INTO {delivery_t} (enrollment_id, step_id, workflow_id, contact_id, status,
                                      due_at, claim_token, attempts, last_error, esp_message_id,
                                      sent_at, created_at, {columns})
            SELECT e.id, s.step_id, e.workflow_id, e.contact_id,
                   CASE WHEN r.x < 0.97 THEN 'sent' WHEN r.x < 0.99 THEN 'failed'
                        ELSE 'suppressed' END,
                   r.at, '', 1, CASE WHEN r.x < 0.97 THEN '' ELSE 'refused' END,
                   CASE WHEN r.x < 0.97 THEN 'msg-' || e.id || '-' || s.step_id ELSE '' END,
                   CASE WHEN r.x < 0.97 THEN r.at END, r.at, {firsts}
            FROM {enrol_t} e
            CROSS JOIN unnest(%s::int[]) AS s(step_id)
            CROSS JOIN LATERAL (
                SELECT random() + e.id * 0 + s.step_id * 0 AS x,
                       now() - interval '90 days' * random() + e.id * interval '0' AS at
            ) r
            WHERE e.workflow_id = %s
            """,
            [step_ids, workflow.pk],
        )
        # The events, written from those times: one per time set, plus second opens.
        share, lag = OPENED_AGAIN
        values = ", ".join(
            f"('{event_type}', '{suffix}', d.{field})"
            for event_type, field, suffix, _p, _lag in EVENTS
        )
        values += (
            f", ('opened', 'o2', CASE WHEN d.opened_at IS NOT NULL AND random() + d.id * 0 < "
            f"{share} THEN d.sent_at + interval '1 hour' * {lag} END)"
        )
        cursor.execute(
            f"""
            INSERT INTO {event_t} (delivery_id, esp, event_id, message_id, event_type,
                                   "timestamp", url, description, received_at)
            SELECT d.id, 'mailjet', d.id || '-' || t.suffix, d.esp_message_id, t.event_type,
                   t.at, '', '', now()
            FROM {delivery_t} d
            CROSS JOIN LATERAL (VALUES {values}) AS t(event_type, suffix, at)
            WHERE d.workflow_id = %s AND t.at IS NOT NULL
            """,
            [workflow.pk],
        )


def counts():
    from django.db import connection

    from wagtail_mailflow.models import Delivery, DeliveryEvent

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return Delivery.objects.count(), DeliveryEvent.objects.count()


def timed(function, repeat):
    from django.db import connection, reset_queries

    times, queries = [], 0
    from django.conf import settings

    settings.DEBUG = True  # count queries
    for _ in range(repeat):
        reset_queries()
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
        queries = len(connection.queries)
    settings.DEBUG = False
    return min(times), sorted(times)[len(times) // 2], queries, result


def explain(workflow, start, end):
    from django.db import connection

    from wagtail_mailflow import statistics

    captured = []
    with connection.execute_wrapper(
        lambda execute, sql, params, many, context: (
            captured.append((sql, params)),
            execute(sql, params, many, context),
        )[1]
    ):
        statistics.workflow_statistics(workflow, start, end)
    with connection.cursor() as cursor:
        for sql, params in captured:
            if "GROUP BY" not in sql:
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n".join(row[0] for row in cursor.fetchall()), end="\n\n")


def machine():
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    memory = ""
    try:
        memory = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.split()[7]
        memory = f", {memory} GB RAM"
    except (OSError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, "
        f"PostgreSQL {server}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--other", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="time the data an earlier run built, unchanged"
    )
    args = parser.parse_args()
    setup_django(os.environ.get("DATABASE_URL") or DEFAULT_URL, recreate=not args.reuse)

    import datetime
    import zoneinfo

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from wagtail_mailflow import statistics
    from wagtail_mailflow.models import EmailWorkflow

    print(f"machine: {machine()}")
    if args.reuse:
        workflow = EmailWorkflow.objects.get(title="Welcome series")
        user = get_user_model().objects.get(username="bench")
    else:
        started = time.perf_counter()
        workflow = make_workflow("Welcome series", args.steps)
        fill(workflow, args.deliveries, "bench")
        if args.other:
            fill(make_workflow("Other workflow", 2), args.other, "other")
        total_deliveries, total_events = counts()
        print(
            f"built {total_deliveries:,} deliveries and {total_events:,} events "
            f"in {time.perf_counter() - started:.1f} s (VACUUM ANALYZE included)"
        )
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    print(f"load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    client = Client()
    client.force_login(user)
    url = reverse("mailflow_workflow_statistics", args=[workflow.pk])
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(workflow.timezone)).date()
    client.get(url)  # warm up: templates, menus, compiled SQL

    print(
        f"{'period':>8} {'queries: best':>15} {'median':>8} {'n':>3}   "
        f"{'page: best':>11} {'median':>8} {'n':>3}   sent / opened in period"
    )
    for days in (7, 30, 90):
        start = today - datetime.timedelta(days=days - 1)
        best, median, queries, stats = timed(
            lambda start=start: statistics.workflow_statistics(workflow, start, today),
            args.repeat,
        )
        page_best, page_median, page_queries, response = timed(
            lambda days=days: client.get(url, {"period": str(days)}), args.repeat
        )
        assert response.status_code == 200, response.status_code
        sent = sum(e.counts["sent"] for e in stats.emails)
        opened = sum(e.counts["opened"] for e in stats.emails)
        print(
            f"{days:>6} d {best * 1000:>12.0f} ms {median * 1000:>5.0f} ms {queries:>3}   "
            f"{page_best * 1000:>8.0f} ms {page_median * 1000:>5.0f} ms {page_queries:>3}   "
            f"{sent:,} / {opened:,}"
        )
    print(
        f"live: {stats.sent_total:,} sent in total; {stats.entered:,} entered, "
        f"{stats.in_workflow:,} in the workflow, {stats.completed:,} completed"
    )
    if args.explain:
        explain(workflow, today - datetime.timedelta(days=89), today)


if __name__ == "__main__":
    main()
