"""ESP benchmark: send N emails through anymail's Mailjet backend to a test ESP that answers late.

    python bench/esp_speed.py [--contacts 2000] [--latency-ms 50] [--postgres]
                              [--concurrency C] [--rate R] [--workers 2]
                              [--only serial,cluster,postgres,post_office]

A real ESP answers each API call after a network round trip; this benchmark
puts one in front of the sender. ``bench/esp_server.py`` (a process of its
own) answers like Mailjet's Send API v3.1 after ``--latency-ms`` and counts
the calls, the recipients and any recipient sent the same subject twice. The
senders use anymail's real Mailjet backend pointed at it. Side by side, in
one run, on the dispatch benchmark's welcome email and contacts:

* ``serial``: wagtail-mailflow in this process: bulk entry (``enter_many``) of
  N contacts into a workflow whose first email is due at once, then
  ``run_due()`` until nothing is due; the sending is timed.
* ``cluster``: the same entry with a real ``qcluster`` running (``--workers``
  workers, ORM broker on SQLite in WAL mode); the entry queues the dispatch
  task. Timed from the entry until no first email is left to send.
* ``postgres`` (with ``--postgres``): two such clusters on PostgreSQL
  (``DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/mailflow_bench_esp``,
  dropped and created again) sharing a Redis broker (``REDIS_URL``, default
  ``redis://127.0.0.1:6379/7``, emptied first).
* ``post_office``: django-post-office's ``send_queued()`` with its defaults on
  N queued emails (the same compiled email, as in ``bench/dispatch.py``); the
  sending is timed.

Every contender runs in a new process on a new database. ``--concurrency``
and ``--rate`` set ``WAGTAIL_MAILFLOW_SEND_CONCURRENCY`` and
``WAGTAIL_MAILFLOW_SEND_RATE`` for wagtail-mailflow's runs.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this directory comes first on sys.path, where a module named like
# one of the standard library's would shadow it: import from the project root instead.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

SETTINGS = "bench.esp_settings"
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/mailflow_bench_esp"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
SCENARIOS = ("serial", "cluster", "postgres", "post_office")
LABELS = {
    "serial": "wagtail-mailflow, run_due in one process",
    "cluster": "wagtail-mailflow, 1 qcluster, SQLite",
    "postgres": "wagtail-mailflow, 2 qclusters, PostgreSQL + Redis",
    "post_office": "django-post-office, send_queued()",
}
RESULT_PREFIX = "RESULT "


# -- the test ESP, in its own process ------------------------------------------------


class Esp:
    """The test ESP's process, and its control paths."""

    def __init__(self, latency_ms):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.esp_server", "--latency-ms", str(latency_ms)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self.process.stdout.readline()
        if not first.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the test ESP did not start: {first!r}")
        self.port = int(first.split()[-1])
        self.root = f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self):
        return f"{self.root}/v3.1/"

    def reset(self):
        """Forget the counts."""
        urllib.request.urlopen(urllib.request.Request(f"{self.root}/_reset", b"", method="POST"))

    def stats(self):
        """What it received since the last reset."""
        with urllib.request.urlopen(f"{self.root}/_stats") as response:
            return json.load(response)

    def stop(self):
        """Stop the server's process."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# -- one contender, run in a process of its own ----------------------------------------


def prepare():
    """Migrate a SQLite database once; each contender starts from a copy of it."""
    from bench.dispatch import configure

    configure(argparse.Namespace(database="sqlite"), settings_module=SETTINGS)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    connection.close()
    return {"path": os.environ["MAILFLOW_BENCH_SQLITE"]}


def setup(database):
    """A new database, the dispatch benchmark's workflow and contacts, the email compiled."""
    template = os.environ.get("MAILFLOW_BENCH_TEMPLATE")
    if database == "sqlite" and template:
        # Migrating takes far longer than most runs: a copy of a migrated file is as new.
        path = Path(tempfile.mkdtemp(prefix="mailflow-bench-")) / "bench.sqlite3"
        shutil.copyfile(template, path)
        os.environ.pop("DATABASE_URL", None)
        os.environ["MAILFLOW_BENCH_SQLITE"] = str(path)
        os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
        import django

        django.setup()
    else:
        from bench.dispatch import configure

        configure(argparse.Namespace(database=database), settings_module=SETTINGS)
    from bench.dispatch import create_workflow
    from wagtail_mailflow.models import WorkflowStep
    from wagtail_mailflow.rendering import compile_revision

    workflow = create_workflow()
    first = WorkflowStep.objects.filter(workflow=workflow).order_by("sort_order").first()
    # Compiled once per revision in every process; done here so no timing pays for it.
    compiled = compile_revision(first.template_revision_id, workflow.language)
    return workflow, first, compiled


def run_serial(count):
    """Bulk entry, then ``run_due`` until nothing is due; the sending is timed."""
    from bench.dispatch import create_contacts

    workflow, first, _compiled = setup("sqlite")
    create_contacts(count, workflow.contact_list)
    from wagtail_mailflow.engine.dispatch import run_due
    from wagtail_mailflow.engine.entry import enter_many
    from wagtail_mailflow.models import Contact, Delivery

    started = time.perf_counter()
    entered = enter_many(workflow, Contact.objects.all())
    entry = time.perf_counter() - started
    batches = 0
    cpu = time.process_time()
    started = time.perf_counter()
    while True:
        stats = run_due()
        batches += stats.batches
        if not stats.batches:
            break
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    sent = Delivery.objects.filter(step=first, status=Delivery.Status.SENT).count()
    return {
        "entered": entered,
        "sent": sent,
        "seconds": seconds,
        "detail": f"entry {entry:.2f} s untimed; {batches} batches; CPU {cpu:.1f} s",
    }


def start_cluster(log):
    """A ``qcluster`` process with this process's environment (database, broker, ESP)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=SETTINGS, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "django", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a Ctrl-C in the terminal reaches it through us only
    )


def stop_cluster(process):
    """SIGTERM, as a process manager stops it; SIGKILL if it has not left within 30 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_ready(tasks, timeout=60.0):
    """Queue ``tasks`` no-op tasks and wait until the cluster(s) have run them all."""
    from django_q.tasks import async_task, result

    ids = [async_task("math.sqrt", 4, task_name=f"bench-ready-{n}") for n in range(tasks)]
    deadline = time.monotonic() + timeout
    for task_id in ids:
        while result(task_id) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the task cluster did not start (see its log above)")
            time.sleep(0.1)


def run_cluster(count, *, database, clusters, workers, timeout):
    """Bulk entry with ``clusters`` qclusters running; timed until no first email is left to send."""
    if database == "postgres":
        os.environ["DATABASE_URL"] = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
        redis_url = os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        import redis

        redis.Redis.from_url(redis_url).flushdb()  # no task left over from an earlier run
    else:
        os.environ.pop("REDIS_URL", None)
    os.environ["MAILFLOW_BENCH_WORKERS"] = str(workers)
    from bench.dispatch import create_contacts

    workflow, first, _compiled = setup(database)
    create_contacts(count, workflow.contact_list)
    from django.db import close_old_connections
    from django.db.models import Count
    from django.utils import timezone

    from wagtail_mailflow.engine.entry import enter_many
    from wagtail_mailflow.models import Contact, Delivery

    pending = (Delivery.Status.SCHEDULED, Delivery.Status.CLAIMED, Delivery.Status.SENDING)
    logs = [tempfile.TemporaryFile("w+") for _ in range(clusters)]
    processes = [start_cluster(log) for log in logs]
    try:
        try:
            wait_until_ready(clusters * workers)
        except RuntimeError:
            for log in logs:
                log.seek(0)
                sys.stderr.write(log.read()[-4000:])
            raise
        started = time.perf_counter()
        clock_start = timezone.now()
        entered = enter_many(workflow, Contact.objects.all())
        entry = time.perf_counter() - started
        deadline = time.monotonic() + timeout
        left = Delivery.objects.filter(step=first, status__in=pending)
        while left.exists():
            if time.monotonic() > deadline:
                break
            if any(process.poll() is not None for process in processes):
                raise RuntimeError("a task cluster stopped during the run")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        timed_out = left.exists()
    finally:
        for process in processes:
            stop_cluster(process)
    close_old_connections()
    counts = dict(Delivery.objects.filter(step=first).values_list("status").annotate(n=Count("id")))
    others = {status: n for status, n in counts.items() if status != Delivery.Status.SENT}
    detail = f"entry {entry:.2f} s included; {clusters}×{workers} workers"
    moments = sorted(
        Delivery.objects.filter(step=first, sent_at__isnull=False).values_list("sent_at", flat=True)
    )
    if moments:
        offsets = [(moment - clock_start).total_seconds() for moment in moments]
        tenths = [offsets[int(len(offsets) * k / 10)] for k in range(1, 10)]
        detail += "; emails claimed from {:.2f} s to {:.2f} s (deciles {})".format(
            offsets[0], offsets[-1], " ".join(f"{t:.2f}" for t in tenths)
        )
    if others:
        detail += f"; not sent: {others}"
    if timed_out:
        detail += f"; TIMED OUT after {timeout:.0f} s"
    return {
        "entered": entered,
        "sent": counts.get(Delivery.Status.SENT, 0),
        "seconds": seconds,
        "detail": detail,
    }


def run_post_office_scenario(count):
    """N emails queued with ``mail.send`` (untimed), then ``send_queued()`` until empty (timed)."""
    from bench.dispatch import create_contacts, run_post_office

    workflow, _first, compiled = setup("sqlite")
    create_contacts(count, workflow.contact_list)
    sent, queue, send = run_post_office(compiled, workflow)
    return {
        "entered": count,
        "sent": sent,
        "seconds": send.seconds,
        "detail": f"queue {queue.seconds:.2f} s untimed; CPU {send.cpu:.1f} s",
    }


def run_scenario(args):
    """Run one contender here and print its result as one JSON line."""
    if args.scenario == "prepare":
        result = prepare()
    elif args.scenario == "serial":
        result = run_serial(args.contacts)
    elif args.scenario == "cluster":
        result = run_cluster(
            args.contacts,
            database="sqlite",
            clusters=1,
            workers=args.workers,
            timeout=args.timeout,
        )
    elif args.scenario == "postgres":
        result = run_cluster(
            args.contacts,
            database="postgres",
            clusters=2,
            workers=args.workers,
            timeout=args.timeout,
        )
    else:
        result = run_post_office_scenario(args.contacts)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    database = os.environ.get("MAILFLOW_BENCH_SQLITE")
    if args.scenario != "prepare" and database and not os.environ.get("DATABASE_URL"):
        shutil.rmtree(Path(database).parent, ignore_errors=True)


# -- the run as a whole ------------------------------------------------------------------


def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine():
    """One line about where the figures come from."""
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"Django {version('Django')}, django-anymail {version('django-anymail')}, "
        f"django-q2 {version('django-q2')}, django-post-office {version('django-post-office')}; "
        f"load average {load}"
    )


def child_env(args, esp, scenario):
    """The environment of one contender's process."""
    env = dict(os.environ, MAILFLOW_BENCH_ESP_URL=esp.api_url, PYTHONPATH=str(ROOT))
    for name in (
        "WAGTAIL_MAILFLOW_SEND_CONCURRENCY",
        "WAGTAIL_MAILFLOW_SEND_RATE",
        "WAGTAIL_MAILFLOW_BATCH_SIZE",
    ):
        env.pop(name, None)
    if scenario != "post_office":
        if args.concurrency is not None:
            env["WAGTAIL_MAILFLOW_SEND_CONCURRENCY"] = str(args.concurrency)
        if args.rate:
            env["WAGTAIL_MAILFLOW_SEND_RATE"] = args.rate
        if args.batch_size:
            env["WAGTAIL_MAILFLOW_BATCH_SIZE"] = str(args.batch_size)
    return env


def run_one(args, esp, scenario):
    """One contender in a new process; its result and what the ESP received."""
    esp.reset()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--scenario",
        scenario,
        "--contacts",
        str(args.contacts),
        "--workers",
        str(args.workers),
        "--timeout",
        str(args.timeout),
    ]
    completed = subprocess.run(
        command, cwd=ROOT, env=child_env(args, esp, scenario), capture_output=True, text=True
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode or not lines:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-8000:])
        return None, esp.stats()
    return json.loads(lines[-1][len(RESULT_PREFIX) :]), esp.stats()


def print_table(rows, count, baseline):
    """The figures side by side."""
    header = (
        f"{'':<50} {'sent':>6} {'time':>8} {'emails/s':>9} {'ESP calls':>9} "
        f"{'max in flight':>13} {'dupl.':>5} {'× post_office':>13}"
    )
    print(header)
    print("-" * len(header))
    for scenario, result, stats in rows:
        label = LABELS[scenario]
        if result is None:
            print(f"{label:<50} failed (output above)")
            continue
        rate = result["sent"] / result["seconds"] if result["seconds"] else float("inf")
        ratio = f"{rate / baseline:.2f}×" if baseline else "—"
        flag = "" if result["sent"] == count and not stats["duplicates"] else "  <-- check"
        print(
            f"{label:<50} {result['sent']:>6} {result['seconds']:>7.2f}s {rate:>9.1f} "
            f"{stats['requests']:>9} {stats['max_in_flight']:>13} {stats['duplicates']:>5} "
            f"{ratio:>13}{flag}"
        )
    print()
    for scenario, result, stats in rows:
        if result is not None:
            print(
                f"  {scenario}: {result['detail']}; the ESP received {stats['recipients']} "
                f"recipients at {stats['arrival_rate']:.1f} calls/s"
            )


def main(argv=None):
    """Parse the options; run every contender (or, with --scenario, one) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--postgres", action="store_true", help="add 2 clusters on PostgreSQL")
    parser.add_argument("--workers", type=int, default=2, help="workers per qcluster")
    parser.add_argument("--concurrency", type=int, help="WAGTAIL_MAILFLOW_SEND_CONCURRENCY")
    parser.add_argument("--rate", help='WAGTAIL_MAILFLOW_SEND_RATE, e.g. "200/s"')
    parser.add_argument("--batch-size", type=int, help="WAGTAIL_MAILFLOW_BATCH_SIZE")
    parser.add_argument(
        "--only", help=f"comma-separated contenders to run, among {', '.join(SCENARIOS)}"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="give up on a cluster run after S seconds"
    )
    parser.add_argument("--scenario", choices=("prepare", *SCENARIOS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.timeout is None:
        args.timeout = 120 + args.contacts / 5  # far slower than today's serial rate
    if args.scenario:
        run_scenario(args)
        return

    if args.only:
        scenarios = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = set(scenarios) - set(SCENARIOS)
        if unknown:
            parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    else:
        scenarios = [name for name in SCENARIOS if name != "postgres" or args.postgres]

    print(f"Machine: {machine()}")
    settings = []
    if args.concurrency is not None:
        settings.append(f"WAGTAIL_MAILFLOW_SEND_CONCURRENCY={args.concurrency}")
    if args.rate:
        settings.append(f"WAGTAIL_MAILFLOW_SEND_RATE={args.rate}")
    if args.batch_size:
        settings.append(f"WAGTAIL_MAILFLOW_BATCH_SIZE={args.batch_size}")
    print(
        f"ESP: anymail's Mailjet backend, test server answering after {args.latency_ms:g} ms; "
        f"{args.contacts:,} contacts; {args.workers} workers per cluster; "
        f"{', '.join(settings) or 'default sending settings'}"
    )
    esp = Esp(args.latency_ms)
    rows = []
    template = None
    try:
        if set(scenarios) - {"postgres"}:
            prepared, _stats = run_one(args, esp, "prepare")
            if prepared is None:
                sys.exit("could not migrate the benchmark's database (output above)")
            template = prepared["path"]
            os.environ["MAILFLOW_BENCH_TEMPLATE"] = template
        for scenario in scenarios:
            print(f"  running {scenario} …", flush=True)
            result, stats = run_one(args, esp, scenario)
            rows.append((scenario, result, stats))
    finally:
        esp.stop()
        if template:
            shutil.rmtree(Path(template).parent, ignore_errors=True)
    print()
    baseline = next(
        (
            result["sent"] / result["seconds"]
            for scenario, result, _stats in rows
            if scenario == "post_office" and result and result["seconds"]
        ),
        None,
    )
    print_table(rows, args.contacts, baseline)
    failed = any(
        result is None or result["sent"] != args.contacts or stats["duplicates"]
        for _scenario, result, stats in rows
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
