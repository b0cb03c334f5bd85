"""The global send rate's accounting, with a fixed clock, on both stores (database and Redis).

Redis runs when REDIS_URL is set (``REDIS_URL=redis://127.0.0.1:6379/9``); the
database store runs on the suite's database.
"""

import os
import secrets

import pytest
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured

from wagtail_mailflow.checks import check_sending_settings
from wagtail_mailflow.models import SendingRate
from wagtail_mailflow.sending import rate
from wagtail_mailflow.sending.rate import DatabaseStore, RedisStore, SendRate

START = 1_800_000_000.0  # seconds since the epoch


class Clock:
    """A clock that moves only when the limiter sleeps (or the test says so)."""

    def __init__(self, now=START):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(params=["database", "redis"])
def store(request):
    if request.param == "database":
        request.getfixturevalue("db")
        yield DatabaseStore()
        return
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs Redis (REDIS_URL=redis://...)")
    cache = RedisCache(url, {"KEY_PREFIX": f"mailflow-rate-test-{secrets.token_hex(4)}"})
    redis_store = RedisStore(cache)
    yield redis_store
    redis_store.client.delete(redis_store.key)


def sent_at(limiter, clock, count, ahead):
    """The clock reading at each of ``count`` messages' turns, reserving ``ahead`` at a time."""
    times = []
    for index in range(count):
        assert limiter.turn(min(ahead, count - index), latest=clock() + 60)
        times.append(round(clock() - START, 6))
    return times


def test_turns_are_one_interval_apart_from_the_first(store):
    clock = Clock()
    limiter = SendRate(10, store=store, clock=clock, sleep=clock.sleep)
    assert sent_at(limiter, clock, 25, ahead=5) == [round(i * 0.1, 6) for i in range(25)]
    # The store was asked once per five messages, and the next free turn follows the last.
    assert SendRate(10, store=store, clock=clock, sleep=clock.sleep).wait_from_now() == (
        pytest.approx(0.1)
    )


def test_two_workers_share_one_rate(store):
    clock = Clock()
    a = SendRate(100, store=store, clock=clock, sleep=clock.sleep)
    b = SendRate(100, store=store, clock=clock, sleep=clock.sleep)
    # A reserves its five turns first, then B the next five: B waits for A's to pass.
    assert a.turn(5, latest=START + 60) and clock() == START
    assert b.turn(5, latest=START + 60)
    assert clock() - START == pytest.approx(0.05)
    assert a.turns and len(a.turns) == 4 and len(b.turns) == 4
    assert sorted(a.turns + b.turns) == pytest.approx(
        [START + 0.01 * i for i in (1, 2, 3, 4, 6, 7, 8, 9)]
    )


def test_no_burst_after_an_idle_spell(store):
    clock = Clock()
    limiter = SendRate(2, store=store, clock=clock, sleep=clock.sleep)
    sent_at(limiter, clock, 4, ahead=4)
    clock.now += 3600  # nothing sent for an hour: no credit was saved up
    idle = clock()
    assert sent_at(limiter, clock, 3, ahead=3)[-1] == round(idle - START + 1.0, 6)


def test_a_turn_later_than_latest_is_not_taken(store):
    clock = Clock()
    limiter = SendRate(1, store=store, clock=clock, sleep=clock.sleep)
    assert limiter.turn(5, latest=START + 60)  # five turns: now, +1 s, … +4 s
    other = SendRate(1, store=store, clock=clock, sleep=clock.sleep)
    assert not other.turn(1, latest=START + 4.5)  # the next free turn is at +5 s
    assert clock.slept == [] and other.turns == []
    assert other.wait_from_now() == pytest.approx(5.0)  # nothing was reserved by asking


def test_retry_after_holds_every_worker_even_without_a_rate(store):
    clock = Clock()
    a = SendRate(None, store=store, clock=clock, sleep=clock.sleep)
    b = SendRate(None, store=store, clock=clock, sleep=clock.sleep)
    assert a.turn(200, latest=START + 10) and clock.slept == []  # no rate: no wait
    b.hold(30)  # the ESP answered B "Retry-After: 30"
    b.hold(5)  # a shorter hold never shortens a longer one
    assert a.wait_from_now() == pytest.approx(30)
    fresh = SendRate(None, store=store, clock=clock, sleep=clock.sleep)
    assert not fresh.turn(50, latest=START + 10)  # too far for this batch: handed back
    assert fresh.turn(50, latest=START + 60)
    assert clock.slept == [pytest.approx(30)]
    assert fresh.wait_from_now() == 0


def test_without_a_rate_the_database_store_writes_nothing(db):
    clock = Clock()
    limiter = SendRate(None, store=DatabaseStore(), clock=clock, sleep=clock.sleep)
    assert limiter.turn(200, latest=START + 10)
    assert SendingRate.objects.get().next_at == 0


@pytest.mark.parametrize(
    "setting, expected",
    [(None, None), ("200/s", 200.0), ("100000/h", 100000 / 3600), ("90/2m", 0.75)],
)
def test_send_rate_setting(settings, setting, expected):
    settings.WAGTAIL_MAILFLOW_SEND_RATE = setting
    assert rate.per_second() == (pytest.approx(expected) if expected else None)


def test_a_malformed_send_rate_says_how_to_write_it(settings):
    settings.WAGTAIL_MAILFLOW_SEND_RATE = "fast"
    with pytest.raises(ImproperlyConfigured, match="SEND_RATE must look like '5/m'"):
        rate.per_second()


@pytest.mark.parametrize(
    "concurrency, rate, ids",
    [
        (32, None, []),
        (1, "14/s", []),
        (0, None, ["wagtail_mailflow.E030"]),
        ("16", None, ["wagtail_mailflow.E030"]),
        (True, None, ["wagtail_mailflow.E030"]),
        (16, "fast", ["wagtail_mailflow.E031"]),
        (16, "0/s", ["wagtail_mailflow.E031"]),
    ],
)
def test_sending_settings_check(settings, concurrency, rate, ids):
    settings.WAGTAIL_MAILFLOW_SEND_CONCURRENCY = concurrency
    settings.WAGTAIL_MAILFLOW_SEND_RATE = rate
    assert [message.id for message in check_sending_settings()] == ids
