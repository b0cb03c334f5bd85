"""Two real qcluster processes on PostgreSQL + Redis, one killed with SIGKILL mid-run.

A whole cluster killed mid-batch: the sweep finds its rows, nothing is lost,
nothing is sent twice. Two clusters claiming at once: no delivery is sent twice.

The clusters are separate ``python -m django qcluster`` processes using
tests/testapp/cluster_settings.py: the pytest-django test database, a Redis
queue named for this run only, two workers each, a five-second lease, batches
of 50, up to eight ESP calls in flight per worker (``SEND_CONCURRENCY``), and an
email backend that appends ``"<delivery id> <pid>"`` to a file for every message
it accepts. The dispatch tasks fan out: the one wake-up of the bulk entry
becomes a task per worker, queued by the clusters themselves. The test process never sends: the bulk entry's
wake-up and the sweeps go to the clusters through Redis.

Needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); skipped otherwise.
"""

import collections
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from tests.factories import active_workflow
from wagtail_mailflow import tasks
from wagtail_mailflow.engine.entry import enter_many
from wagtail_mailflow.models import Contact, ContactList, Delivery, ListMembership

REPO = Path(__file__).resolve().parents[2]
DELIVERIES = 5000
KILL_AFTER_SENT = 1500
LEASE_SECONDS = 5
BATCH_SIZE = 50
WORKERS = 2
# Time an ESP call takes, so a kill lands while a batch is being handed over.
ESP_SECONDS = 0.002
# ESP calls each worker keeps in flight; dispatch tasks fan out to every worker of both clusters.
SEND_CONCURRENCY = 8
DRAIN_TIMEOUT = 180
S = Delivery.Status
FINAL = {S.SENT, S.UNKNOWN}
IN_FLIGHT = (S.CLAIMED, S.SENDING)

pytestmark = [
    pytest.mark.postgres,  # skipped without PostgreSQL and Redis, required in CI (conftest)
    pytest.mark.django_db(transaction=True),
]


class Cluster:
    """One ``qcluster`` process in its own process group, logging to a file."""

    def __init__(self, label, env, log_path):
        self.label = label
        self.log_path = log_path
        self.worker_pids = set()
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster"],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def kill(self):
        """SIGKILL the whole process group: sentinel, pusher, monitor and workers at once."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def stop(self, timeout=30):
        """SIGTERM (a clean shutdown); SIGKILL the group if it is still there after ``timeout``."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (a stuck worker) goes too.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.alive():
            self.process.wait(timeout=30)
        self._log.close()

    def log_tail(self, size=4000):
        return self.log_path.read_bytes()[-size:].decode(errors="replace")


class RunBroker:
    """django-q2's Redis broker on this run's queue, used from the test process."""

    def __init__(self, name):
        from django_q.brokers.redis_broker import Redis

        self.name = name
        self.broker = Redis(list_key=name)
        self.enqueued = 0

    def dispatch(self):
        """Queue the dispatch task for the clusters (the test settings run tasks inline)."""
        from django_q.tasks import async_task

        async_task(
            tasks.DISPATCH_TASK,
            task_name="mailflow-wake",
            group="wagtail-mailflow",
            broker=self.broker,
            sync=False,
        )
        self.enqueued += 1

    def queue_size(self):
        return self.broker.queue_size()

    def cluster_stats(self):
        """The status every running cluster of this run publishes in Redis (pid → Stat)."""
        from django_q.conf import Conf
        from django_q.signing import SignedPackage

        # Published under the signing prefix, shared with other runs: callers look up their pids.
        packs = self.broker.get_stats(f"{Conf.Q_STAT}:*") or []
        stats = [SignedPackage.loads(pack) for pack in packs]
        return {stat.pid: stat for stat in stats}

    def delete_keys(self):
        connection = self.broker.connection
        keys = list(connection.scan_iter(match=f"django_q:{self.name}:*"))
        if keys:
            connection.delete(*keys)


def status_counts():
    return dict(Delivery.objects.values_list("status").annotate(n=Count("pk")))


def read_sink(path):
    """(delivery id, pid) for every line the email backend wrote."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [(int(d), int(p)) for d, p in (line.split() for line in lines)]


def wait_until_running(run, clusters, timeout=60):
    from django_q.conf import Conf

    running = {str(Conf.IDLE), str(Conf.WORKING)}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for cluster in clusters:
            assert cluster.alive(), f"{cluster.label} exited:\n{cluster.log_tail()}"
        stats = run.cluster_stats()
        if all(
            c.pid in stats and str(stats[c.pid].status) in running and stats[c.pid].workers
            for c in clusters
        ):
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {c.label}\n{c.log_tail()}" for c in clusters)
    pytest.fail(f"the clusters did not start within {timeout} s\n{logs}")


def record_worker_pids(run, clusters):
    stats = run.cluster_stats()
    for cluster in clusters:
        if cluster.pid in stats:
            cluster.worker_pids.update(stats[cluster.pid].workers)


def cluster_env(name, sink, *, timeout=60, esp_seconds=ESP_SECONDS):
    """The environment of a qcluster process of this run (see tests/testapp/cluster_settings.py)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.testapp.cluster_settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "MAILFLOW_TEST_DB_NAME": connection.settings_dict["NAME"],
        "MAILFLOW_CLUSTER_NAME": name,
        "MAILFLOW_CLUSTER_WORKERS": str(WORKERS),
        "MAILFLOW_CLUSTER_TIMEOUT": str(timeout),
        "MAILFLOW_SINK_FILE": str(sink),
        "MAILFLOW_SINK_DELAY": str(esp_seconds),
        "MAILFLOW_LEASE_SECONDS": str(LEASE_SECONDS),
        "MAILFLOW_BATCH_SIZE": str(BATCH_SIZE),
        "MAILFLOW_SEND_CONCURRENCY": str(SEND_CONCURRENCY),
    }


def workflow_with_readers(count):
    """An active one-email workflow whose list has ``count`` subscribed contacts (not entered)."""
    newsletter = ContactList.objects.create(name="Newsletter")
    workflow = active_workflow(delays=((0, "days"),), contact_list=newsletter)
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"reader{i}@example.com") for i in range(count)], batch_size=1000
    )
    ListMembership.objects.bulk_create(
        [ListMembership(contact=c, contact_list=newsletter) for c in contacts], batch_size=1000
    )
    return workflow


def test_two_clusters_and_a_killed_one_send_every_email_exactly_once(tmp_path, monkeypatch):
    name = f"mailflow-concurrency-{os.getpid()}-{secrets.token_hex(4)}"
    run = RunBroker(name)
    sink = tmp_path / "sent.txt"
    env = cluster_env(name, sink)
    # Entries wake the clusters through this run's Redis queue, never inline in this process.
    monkeypatch.setattr(tasks, "wake", run.dispatch)

    workflow = workflow_with_readers(DELIVERIES)

    clusters = []
    try:
        clusters = [
            Cluster(label, env, tmp_path / f"{label}.log") for label in ("cluster-a", "cluster-b")
        ]
        a, b = clusters
        wait_until_running(run, clusters)
        record_worker_pids(run, clusters)

        started = time.monotonic()
        assert enter_many(workflow, Contact.objects.all()) == DELIVERIES
        assert run.enqueued == 1, "the bulk entry should have woken the clusters once"

        killed_at = None
        in_flight_at_kill = {}  # delivery id → (status, claim token) when cluster A died
        orphans = {}  # the part of it that nobody was still working on: cluster A's claims
        last_sweep = 0.0
        deadline = started + DRAIN_TIMEOUT
        while True:
            now = time.monotonic()
            assert now < deadline, (
                f"not drained within {DRAIN_TIMEOUT} s: {status_counts()}\n{b.log_tail()}"
            )
            counts = status_counts()
            if killed_at is None:
                assert a.alive() and b.alive(), f"{a.log_tail()}\n{b.log_tail()}"
                record_worker_pids(run, clusters)
                if counts.get(S.SENT, 0) >= KILL_AFTER_SENT:
                    a.kill()
                    killed_at = time.monotonic()
                    in_flight_at_kill = {
                        pk: (status, token)
                        for pk, status, token in Delivery.objects.filter(
                            status__in=IN_FLIGHT
                        ).values_list("pk", "status", "claim_token")
                    }
            elif not orphans and now - killed_at >= LEASE_SECONDS / 2:
                # B's own batches finish in well under a second; rows still held under the
                # claim they had when A died, before any lease could expire, are A's.
                still = Delivery.objects.filter(pk__in=in_flight_at_kill).values_list(
                    "pk", "status", "claim_token"
                )
                orphans = {
                    pk: status
                    for pk, status, token in still
                    if (status, token) == in_flight_at_kill[pk]
                }
                assert orphans, "cluster A held no claim when it was killed"
            assert b.alive(), f"cluster B exited:\n{b.log_tail()}"
            if killed_at is not None and orphans and set(counts) <= FINAL:
                break
            # The once-a-minute sweep, faster: a dispatch task whenever the queue is empty.
            if run.queue_size() == 0 and now - last_sweep >= 0.5:
                run.dispatch()
                last_sweep = now
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        record_worker_pids(run, [b])
        b.stop()
        assert b.process.returncode is not None
    finally:
        for cluster in clusters:
            cluster.stop(timeout=10)
        run.delete_keys()

    lines = read_sink(sink)
    per_delivery = collections.Counter(d for d, _pid in lines)
    per_pid = collections.Counter(pid for _d, pid in lines)
    rows = dict(Delivery.objects.values_list("pk", "status"))
    counts = collections.Counter(rows.values())
    released = [pk for pk, status in orphans.items() if status == S.CLAIMED]
    handed_over = [pk for pk, status in orphans.items() if status == S.SENDING]
    unknown_reached = sum(1 for pk in handed_over if pk in per_delivery)
    print(
        f"\n{DELIVERIES} deliveries, 2 clusters x {WORKERS} workers, cluster A SIGKILLed after "
        f"{KILL_AFTER_SENT} sent: drained in {elapsed:.1f} s; {counts[S.SENT]} sent, "
        f"{counts[S.UNKNOWN]} unknown; {len(in_flight_at_kill)} in flight at the kill, "
        f"{len(released)} of them claimed by A (re-sent after the lease), {len(handed_over)} "
        f"in A's batch at the ESP (now unknown: {unknown_reached} had reached the backend, "
        f"{len(handed_over) - unknown_reached} had not); {run.enqueued} dispatch tasks; "
        f"lines per pid: A {sorted(per_pid[p] for p in a.worker_pids if p in per_pid)}, "
        f"B {sorted(per_pid[p] for p in b.worker_pids if p in per_pid)}, "
        f"other {sum(n for p, n in per_pid.items() if p not in a.worker_pids | b.worker_pids)}"
    )

    # Nothing lost: every delivery reached a final state.
    assert len(rows) == DELIVERIES
    assert set(counts) <= FINAL, counts
    # Nothing doubled: no delivery reached the email backend twice.
    doubled = {d: n for d, n in per_delivery.items() if n > 1}
    assert not doubled, f"sent more than once: {sorted(doubled.items())[:20]}"
    assert set(per_delivery) <= set(rows)
    # Every sent delivery was handed to the backend exactly once; an unknown one at most once.
    sent = {pk for pk, status in rows.items() if status == S.SENT}
    assert sent <= set(per_delivery), (
        f"recorded sent, never handed over: {sorted(sent - set(per_delivery))[:20]}"
    )
    # Unknown only where the killed cluster was handing the batch to the ESP.
    unknown = {pk for pk, status in rows.items() if status == S.UNKNOWN}
    assert unknown <= set(handed_over), sorted(unknown - set(handed_over))[:20]
    # The killed cluster's claims came back after the lease and the survivor sent them, once.
    assert released or handed_over
    for pk in released:
        assert rows[pk] == S.SENT
        assert [p for d, p in lines if d == pk][0] in b.worker_pids
    # Both clusters sent: they really claimed concurrently.
    assert any(p in per_pid for p in a.worker_pids), "cluster A sent nothing before the kill"
    assert any(p in per_pid for p in b.worker_pids), "cluster B sent nothing"


def test_a_backlog_longer_than_the_task_timeout_is_handed_on_not_cut_mid_batch(
    tmp_path, monkeypatch
):
    """django-q2 stops a task that outlives Q_CLUSTER's timeout wherever it is, mid-batch.

    A backlog takes longer to send than that timeout: every dispatch task must stop
    starting batches in time and leave the rest to the next task, so no batch is cut
    (a cut batch ends ``unknown``, most of it never sent).
    """
    count, timeout, esp_seconds = 2000, 4, 0.005  # ~5 s of ESP calls per worker
    name = f"mailflow-timeout-{os.getpid()}-{secrets.token_hex(4)}"
    run = RunBroker(name)
    sink = tmp_path / "sent.txt"
    monkeypatch.setattr(tasks, "wake", run.dispatch)
    workflow = workflow_with_readers(count)
    cluster = None
    try:
        cluster = Cluster(
            "cluster",
            cluster_env(name, sink, timeout=timeout, esp_seconds=esp_seconds),
            tmp_path / "cluster.log",
        )
        wait_until_running(run, [cluster])
        started = time.monotonic()
        assert enter_many(workflow, Contact.objects.all()) == count
        # A second task, so both workers share the backlog.
        run.dispatch()
        deadline, last_sweep = started + DRAIN_TIMEOUT, started
        while set(status_counts()) - FINAL:
            now = time.monotonic()
            assert now < deadline, f"{status_counts()}\n{cluster.log_tail()}"
            assert cluster.alive(), cluster.log_tail()
            if run.queue_size() == 0 and now - last_sweep >= 2:
                run.dispatch()  # the once-a-minute sweep, faster
                last_sweep = now
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        if cluster:
            cluster.stop(timeout=10)
        run.delete_keys()

    log = cluster.log_path.read_text(errors="replace")
    per_delivery = collections.Counter(d for d, _pid in read_sink(sink))
    counts = collections.Counter(Delivery.objects.values_list("status", flat=True))
    print(
        f"\n{count} deliveries, 1 cluster x {WORKERS} workers, task timeout {timeout} s, "
        f"{esp_seconds * 1000:.0f} ms per ESP call: drained in {elapsed:.1f} s; "
        f"{counts[S.SENT]} sent, {counts[S.UNKNOWN]} unknown; {run.enqueued} dispatch tasks "
        f"queued; {log.count('exceeded maximum timeout')} tasks stopped by the timeout"
    )
    assert counts == {S.SENT: count}, counts
    assert set(per_delivery.values()) == {1}
    assert "exceeded maximum timeout" not in log
