"""Handing a batch's messages to the ESP with up to ``SEND_CONCURRENCY`` calls in flight.

An ESP answers each API call after a network round trip; a worker that waits
for each answer before the next call sends 1 / round trip emails a second. Here
the calls of a batch overlap: a pool of threads, each with its own connection
from the email backend (anymail's sessions and SMTP connections are never
shared between threads), makes the calls, and this thread keeps deciding:

* **the window**: how many calls may be in flight. It starts at 1 for each email
  backend in a process and opens to ``SEND_CONCURRENCY`` once two calls in a row
  have spent their time waiting on the network (an ESP across a network that
  accepts the account). A window of 1 makes the call in this thread, exactly as
  one connection used to: a backend whose calls cost CPU only (Django's locmem,
  console) never uses threads, and a fresh worker meets a refused account or an
  ESP asking to slow down with a single call. A ``Retry-After`` answer, or a call
  that did not wait, shrinks the window back to 1;
* **the gate** (``should_send``, the engine's hand-over and re-check), asked in
  this thread just before each message, never in the pool: database work stays
  on this thread's connection;
* **the rate** (:class:`~.rate.SendRate`): each message waits for its turn;
* **stopping**: after a ``pause`` outcome, the calls not yet made are not made
  (``pause`` too); when the rate's next turn is too far, they are handed back
  (``wait``, with the delay).

Outcomes are returned in the order of the messages, whatever order the answers
came in.
"""

import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.mail import get_connection

from .batch import (
    WITHDRAWN,
    Kind,
    Outcome,
    close_connection,
    open_connection,
    send_message,
)
from .rate import MAX_WAIT_SECONDS

#: A call that waited on the network (not on our CPU) at least this long lets the window grow.
WAITING_SECONDS = 0.001
#: Why the calls left when the rate's next turn was too far were not made.
RATE_WAIT = "Not sent yet: the send rate (or the ESP's Retry-After) holds it until its turn."


class Window:
    """How many calls may be in flight, per email backend, learnt in this process."""

    def __init__(self):
        self.sizes = {}
        self.waits = {}

    @staticmethod
    def _backend():
        return getattr(settings, "EMAIL_BACKEND", "")

    def current(self) -> int:
        return self.sizes.get(self._backend(), 1)

    def waited(self, limit: int) -> None:
        """A call spent its time waiting: from the second in a row, the window opens to ``limit``.

        One call alone may seem to wait because the machine was busy elsewhere.
        (Growing step by step, doubling at each answer, cost a fresh worker about
        four round trips at a fraction of its speed, for no call saved: a refused
        account or a ``Retry-After`` is met by the first call, alone.)
        """
        backend = self._backend()
        self.waits[backend] = self.waits.get(backend, 0) + 1
        if self.waits[backend] >= 2:
            self.sizes[backend] = max(limit, 1)

    def shrink(self) -> None:
        self.sizes[self._backend()] = 1
        self.waits[self._backend()] = 0

    def clear(self) -> None:
        self.sizes.clear()
        self.waits.clear()


#: The window learnt in this process, shared by every batch.
WINDOW = Window()

_pool = None
_pool_size = 0
_pool_lock = threading.Lock()


def _executor(size: int) -> ThreadPoolExecutor:
    """The process's thread pool, with at least ``size`` threads (made again when it must grow)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="mailflow-send")
            _pool_size = size
        return _pool


class Connections:
    """One open email connection per thread, kept open from batch to batch.

    A dispatch run passes the same one to each of its batches and closes it when
    it ends, so the ESP's connections (anymail's keep-alive sessions) are opened
    once per thread and run, not once per batch. A connection whose call did not
    end ``sent`` is closed and opened again for the next call.
    """

    def __init__(self, factory):
        self.factory = factory
        self.by_thread = {}
        self.lock = threading.Lock()

    def get(self):
        """This thread's connection: (connection, None), or (None, the outcome of a failed open)."""
        ident = threading.get_ident()
        connection = self.by_thread.get(ident)
        if connection is not None:
            return connection, None
        connection = self.factory() if self.factory else get_connection()
        refused = open_connection(connection)
        if refused is not None:
            return None, refused
        with self.lock:
            self.by_thread[ident] = connection
        return connection, None

    def discard(self):
        """Close this thread's connection; its next call opens a new one."""
        with self.lock:
            connection = self.by_thread.pop(threading.get_ident(), None)
        if connection is not None:
            close_connection(connection)

    def close(self):
        with self.lock:
            connections = list(self.by_thread.values())
            self.by_thread.clear()
        for connection in connections:
            close_connection(connection)


def _call(connections, message):
    """One ESP call: (outcome, whether the connection could not open, seconds spent waiting)."""
    started, cpu = time.monotonic(), time.thread_time()
    connection, refused = connections.get()
    if refused is not None:
        return refused, True, 0.0
    outcome = send_message(connection, message)
    if outcome.kind != Kind.SENT:
        connections.discard()  # whatever went wrong, the next call starts on a new connection
    waited = (time.monotonic() - started) - (time.thread_time() - cpu)
    return outcome, False, waited


def send_all(
    messages: list,
    *,
    concurrency: int = 1,
    connection_factory=None,
    should_send=None,
    rate=None,
    connections=None,
) -> list[Outcome]:
    """Send ``messages`` with up to ``concurrency`` calls in flight; one Outcome per message.

    ``should_send(index)`` (this thread) withdraws a message by returning False;
    ``rate`` (a :class:`~.rate.SendRate`) paces the calls. ``connections`` (a
    :class:`Connections`) is the caller's to close; without it, the connections
    are opened for these messages and closed after them.
    """
    count = len(messages)
    outcomes: list[Outcome | None] = [None] * count
    owned = connections is None
    if owned:
        connections = Connections(connection_factory)
    in_flight = {}  # future → index
    finished = queue.SimpleQueue()  # futures as they finish, whatever order they finish in
    stop = None  # the outcome every call not yet made gets
    latest = time.monotonic() + MAX_WAIT_SECONDS
    concurrency = max(int(concurrency), 1)

    def settle(index, result):
        nonlocal stop
        outcome, not_opened, waited = result
        outcomes[index] = outcome
        if not_opened or outcome.kind == Kind.PAUSE:
            stop = stop or Outcome(
                outcome.kind, error=outcome.error, retry_after=outcome.retry_after
            )
        elif outcome.retry_after is not None:
            # The ESP said when to come back: every worker waits, and starts again gently.
            WINDOW.shrink()
            if rate is not None:
                rate.hold(outcome.retry_after)
        elif outcome.kind == Kind.SENT and waited >= WAITING_SECONDS:
            WINDOW.waited(concurrency)
        elif outcome.kind == Kind.SENT:
            WINDOW.shrink()  # calls that cost CPU only gain nothing from threads

    def collect(block):
        """Settle the calls that have finished; with ``block``, wait for one first."""
        while in_flight:
            try:
                future = finished.get(block=block)
            except queue.Empty:
                return
            settle(in_flight.pop(future), future.result())
            block = False

    try:
        for index, message in enumerate(messages):
            collect(block=False)
            while len(in_flight) >= WINDOW.current() and in_flight:
                collect(block=True)
            if stop is not None:
                break
            if rate is not None:
                wall_latest = rate.clock() + (latest - time.monotonic())
                # Turns are reserved a window at a time; without a rate, once a batch.
                ahead = count - index if not rate.interval else min(WINDOW.current(), count - index)
                if not rate.turn(ahead, wall_latest):
                    stop = Outcome(Kind.WAIT, error=RATE_WAIT, retry_after=rate.wait_from_now())
                    break
            if should_send is not None and not should_send(index):
                outcomes[index] = Outcome(Kind.WITHDRAWN, error=WITHDRAWN)
                continue
            if WINDOW.current() == 1 and not in_flight:
                settle(index, _call(connections, message))  # here, as one connection would
            else:
                future = _executor(concurrency).submit(_call, connections, message)
                in_flight[future] = index
                future.add_done_callback(finished.put)
        while in_flight:
            collect(block=True)
    finally:
        for future in in_flight:  # only when this thread is being stopped
            future.cancel()
        if owned:
            connections.close()
    for index in range(count):
        if outcomes[index] is None:
            outcomes[index] = Outcome(stop.kind, error=stop.error, retry_after=stop.retry_after)
    return outcomes
