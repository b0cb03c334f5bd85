"""The global send rate: every worker and machine together send at most ``SEND_RATE``.

One number is shared: when the next email may go (``next_at``). A worker
reserves turns for the next few messages in one atomic step, moving ``next_at``
forward by one interval per message, and waits for each turn before the ESP
call (a "generic cell rate" token bucket without burst: the turns of all the
workers interleave at exactly the rate). When the ESP answers 429 or 503 with
``Retry-After``, :meth:`SendRate.hold` moves ``next_at`` to after that delay, so
every worker slows down, not only the batch that got the answer.

Where the number lives:

* in Redis when Django's default cache is ``django.core.cache.backends.redis.RedisCache``
  (or django-redis): one key, changed by a Lua script, atomic for every process;
* in the database otherwise: one ``SendingRate`` row, changed by a conditional
  UPDATE (compare and set, retried when another worker moved it first).

Times are seconds since the epoch from a clock that tests replace.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import conf
from ..models import Delivery, SendingRate

logger = logging.getLogger(__name__)

KEY = "default"
CACHE_KEY = "wagtail_mailflow:send_rate"
#: The longest a worker waits for its turn before handing the rest of its batch back.
MAX_WAIT_SECONDS = 10.0

# KEYS[1] the shared time; ARGV: now, count, interval, latest start, ttl. Returns the first
# turn's time, and whether the turns were reserved (not when they start after ``latest``).
# Numbers travel as strings: Redis would cut a Lua number to an integer.
_RESERVE = """
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local start = math.max(next_at, now)
if start > tonumber(ARGV[4]) then
  return {tostring(start), 0}
end
redis.call('SET', KEYS[1], tostring(start + tonumber(ARGV[2]) * tonumber(ARGV[3])), 'EX', ARGV[5])
return {tostring(start), 1}
"""
_HOLD = """
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > next_at then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


def per_second() -> float | None:
    """``SEND_RATE`` in emails per second, or None when sending is not rate limited."""
    rate = conf.parse_rate(conf.get("SEND_RATE"), "SEND_RATE")
    return None if rate is None else rate[0] / rate[1]


class RedisStore:
    """The shared time in one Redis key of the cache."""

    def __init__(self, cache):
        self.key = cache.make_and_validate_key(CACHE_KEY)
        self.client = redis_client(cache)
        self._reserve = self.client.register_script(_RESERVE)
        self._hold = self.client.register_script(_HOLD)

    def reserve(self, now, count, interval, latest):
        """Take ``count`` turns ``interval`` apart from the first free one, unless it is after
        ``latest``; returns (the first turn, whether they were taken)."""
        ttl = max(int(count * interval + max(latest - now, 0)) + 3600, 60)
        start, taken = self._reserve(
            keys=[self.key], args=[repr(now), count, repr(interval), repr(latest), ttl]
        )
        return float(start), bool(taken)

    def hold(self, until):
        """Nobody's next turn before ``until``."""
        self._hold(keys=[self.key], args=[repr(until), max(int(until - time.time()), 0) + 3600])


class DatabaseStore:
    """The shared time in a ``SendingRate`` row, moved by compare-and-set UPDATEs."""

    ATTEMPTS = 50

    def _current(self):
        value = SendingRate.objects.filter(key=KEY).values_list("next_at", flat=True).first()
        if value is None:
            try:
                SendingRate.objects.get_or_create(key=KEY)
            except IntegrityError:  # created by another worker meanwhile
                pass
            value = 0
        return value

    def _move(self, old, new):
        return SendingRate.objects.filter(key=KEY, next_at=old).update(next_at=new) == 1

    def reserve(self, now, count, interval, latest):
        """See :meth:`RedisStore.reserve`."""
        for _attempt in range(self.ATTEMPTS):
            old = self._current()
            start = max(old / 1e6, now)
            if start > latest:
                return start, False
            if not count * interval:  # no rate: nothing to reserve, only a hold to respect
                return start, True
            if self._move(old, round((start + count * interval) * 1e6)):
                return start, True
        raise RuntimeError("Could not reserve send-rate turns: the row changed 50 times in a row")

    def hold(self, until):
        """See :meth:`RedisStore.hold`."""
        for _attempt in range(self.ATTEMPTS):
            old = self._current()
            if old / 1e6 >= until or self._move(old, round(until * 1e6)):
                return


def redis_client(cache):
    """The redis-py client behind a Django cache, or None when the cache is not Redis."""
    inner = getattr(cache, "_cache", None)  # django.core.cache.backends.redis.RedisCache
    if inner is not None and hasattr(inner, "get_client"):
        return inner.get_client(write=True)
    client = getattr(cache, "client", None)  # django-redis
    if client is not None and hasattr(client, "get_client"):
        return client.get_client(write=True)
    return None


def default_store():
    """Redis when the default cache is Redis, the database otherwise."""
    cache = caches["default"]
    if redis_client(cache) is not None:
        return RedisStore(cache)
    return DatabaseStore()


class SendRate:
    """One worker's side of the shared rate: turns reserved a few at a time, waited for here.

    ``per_second`` None means no rate: the shared time is still read once a
    batch, so that an ESP's ``Retry-After`` seen by one worker holds every worker.
    """

    def __init__(self, per_second=None, store=None, clock=time.time, sleep=time.sleep):
        self.interval = 1.0 / per_second if per_second else 0.0
        self.store = store if store is not None else default_store()
        self.clock = clock
        self.sleep = sleep
        self.turns = []

    @classmethod
    def configured(cls, clock=time.time, sleep=time.sleep):
        """The rate of ``SEND_RATE``, shared through the default store."""
        return cls(per_second(), clock=clock, sleep=sleep)

    def turn(self, ahead: int, latest: float) -> bool:
        """Wait for the next message's turn; False (nothing waited) if it comes after ``latest``.

        ``ahead`` is how many messages are likely to follow (this one included): that
        many turns are reserved at once, so the store is asked once per group.
        """
        if not self.turns:
            count = max(1, ahead)
            start, taken = self.store.reserve(self.clock(), count, self.interval, latest)
            if not taken:
                return False
            self.turns = [start + i * self.interval for i in range(count)]
            self.turns.reverse()
        at = self.turns.pop()
        wait = at - self.clock()
        if wait > 0:
            self.sleep(wait)
        return True

    def hold(self, seconds: float) -> None:
        """The ESP asked us to wait ``seconds``: no worker sends before then."""
        self.turns = []
        self.store.hold(self.clock() + seconds)

    def wait_from_now(self) -> float:
        """Seconds before the next free turn (0 when one is free now); reserves nothing."""
        now = self.clock()
        start, _taken = self.store.reserve(now, 0, 0.0, float("-inf"))
        return max(start - now, 0.0)


#: A backlog this long at the rate or longer gets a forecast in the admin.
FORECAST_FROM_SECONDS = 60
_WAITING = (Delivery.Status.SCHEDULED, Delivery.Status.CLAIMED, Delivery.Status.SENDING)


@dataclass
class Forecast:
    """The configured rate in words, the emails waiting for it, and when the last should go."""

    rate: str
    waiting: int
    last_at: datetime | None


def describe_rate(count: int, seconds: int) -> str:
    """``(200, 1)`` → "200 emails per second"; ``(90, 120)`` → "90 emails every 120 seconds"."""
    units = {
        1: ngettext("%(count)s email per second", "%(count)s emails per second", count),
        60: ngettext("%(count)s email per minute", "%(count)s emails per minute", count),
        3600: ngettext("%(count)s email per hour", "%(count)s emails per hour", count),
        86400: ngettext("%(count)s email per day", "%(count)s emails per day", count),
    }
    text = units.get(seconds) or _("%(count)s emails every %(seconds)s seconds")
    return text % {"count": count, "seconds": seconds}


def forecast(workflow_id=None, now=None) -> Forecast | None:
    """The rate, and when the last email due now (of one workflow, or of all) should go at it.

    None when no ``SEND_RATE`` is set (or it is malformed: the system check says so).
    ``last_at`` is set only when the emails due take at least ``FORECAST_FROM_SECONDS``
    at the rate; for one workflow, its last due email waits behind every email due
    before it, whatever its workflow (they share the rate, oldest first).
    """
    try:
        rate = conf.parse_rate(conf.get("SEND_RATE"), "SEND_RATE")
    except ImproperlyConfigured:
        return None
    if rate is None:
        return None
    now = now or timezone.now()
    due = Delivery.objects.filter(status__in=_WAITING, due_at__lte=now)
    if workflow_id is not None:
        last_due = due.filter(workflow_id=workflow_id).aggregate(last=Max("due_at"))["last"]
        due = due.filter(due_at__lte=last_due) if last_due else due.none()
    waiting = due.count()
    seconds = waiting * rate[1] / rate[0]
    last_at = now + timedelta(seconds=seconds) if seconds >= FORECAST_FROM_SECONDS else None
    return Forecast(describe_rate(*rate), waiting, last_at)
