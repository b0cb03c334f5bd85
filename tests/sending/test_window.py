"""The window of ESP calls in flight: one call first, all of them once the ESP is known to be
across a network, one again after a Retry-After or a call that did not wait."""

from wagtail_mailflow.sending.concurrent import Window

MAILJET = "anymail.backends.mailjet.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def test_the_window_opens_to_the_limit_after_two_calls_that_waited(settings):
    settings.EMAIL_BACKEND = MAILJET
    window = Window()
    assert window.current() == 1  # a fresh worker meets the ESP with one call
    window.waited(32)
    assert window.current() == 1  # one call alone may have waited on a busy machine
    window.waited(32)
    assert window.current() == 32
    window.waited(32)
    assert window.current() == 32  # never past the limit


def test_a_retry_after_or_a_call_that_did_not_wait_closes_it_to_one_call(settings):
    settings.EMAIL_BACKEND = MAILJET
    window = Window()
    window.waited(16)
    window.waited(16)
    window.shrink()
    assert window.current() == 1
    window.waited(16)
    assert window.current() == 1  # it opens again the same way: two waited calls
    window.waited(16)
    assert window.current() == 16


def test_a_limit_of_one_keeps_one_call_and_each_backend_has_its_own_window(settings):
    window = Window()
    settings.EMAIL_BACKEND = MAILJET
    window.waited(1)
    window.waited(1)
    assert window.current() == 1
    window.waited(8)
    assert window.current() == 8
    settings.EMAIL_BACKEND = LOCMEM
    assert window.current() == 1  # learnt for the Mailjet backend only
    settings.EMAIL_BACKEND = MAILJET
    assert window.current() == 8
