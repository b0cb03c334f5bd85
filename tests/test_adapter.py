"""The site adapter chosen by WAGTAIL_MAILFLOW_ADAPTER: the rate limit's client IP, the
confirmation email, and the system check of the setting."""

import pytest
from django.core import mail
from django.template import TemplateSyntaxError
from django.test import RequestFactory

from tests.signup_helpers import committed
from wagtail_mailflow.adapter import DefaultAdapter, get_adapter
from wagtail_mailflow.checks import check_signup_settings
from wagtail_mailflow.models import Contact, ContactList
from wagtail_mailflow.rate_limit import rate_limited
from wagtail_mailflow.subscribe_form import make_form_config

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_state")]

ADAPTER = "tests.test_adapter.ProxyAdapter"


class ProxyAdapter(DefaultAdapter):
    """A site behind one reverse proxy: the visitor is the last address the proxy added."""

    def get_client_ip(self, request):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        return forwarded.split(",")[-1].strip() or super().get_client_ip(request)

    def get_confirmation_context(self, membership, **kwargs):
        return {**super().get_confirmation_context(membership, **kwargs), "site_name": "Acme"}

    def render_confirmation_email(self, membership, **kwargs):
        message = super().render_confirmation_email(membership, **kwargs)
        message.subject = f"[Acme] {message.subject}"
        message.extra_headers["X-Site"] = "acme"
        return message


class NotAnAdapter:
    pass


def sign_up(client, capture, contact_list, email, **extra):
    with committed(capture):
        return client.post(
            f"/mailflow/subscribe/{contact_list.pk}/",
            {"form": make_form_config(contact_list), "email": email},
            **extra,
        )


def test_default_adapter_and_lookup_at_call_time(settings):
    assert type(get_adapter()) is DefaultAdapter
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert get_adapter().get_client_ip(request) == "192.0.2.1"
    settings.WAGTAIL_MAILFLOW_ADAPTER = ADAPTER
    assert type(get_adapter()) is ProxyAdapter
    assert get_adapter().get_client_ip(request) == "1.2.3.4"


def test_rate_limit_counts_the_ip_the_adapter_gives(settings):
    settings.WAGTAIL_MAILFLOW_SUBSCRIBE_RATE = "1/m"
    factory = RequestFactory()
    # Every visitor arrives from the proxy's address; only the forwarded one tells them apart.
    first = factory.post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = factory.post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.2")
    assert rate_limited(first) is False
    assert rate_limited(second) is True  # the default adapter sees the proxy twice
    settings.WAGTAIL_MAILFLOW_ADAPTER = ADAPTER
    third = factory.post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.3")
    assert rate_limited(third) is False
    assert rate_limited(third) is True


def test_subscribe_view_is_limited_per_forwarded_ip(
    settings, client, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_MAILFLOW_ADAPTER = ADAPTER
    settings.WAGTAIL_MAILFLOW_SUBSCRIBE_RATE = "1/m"
    newsletter = ContactList.objects.create(name="Newsletter")
    capture = django_capture_on_commit_callbacks
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    ok = sign_up(
        client, capture, newsletter, "a@example.com", HTTP_X_FORWARDED_FOR="1.1.1.1", **proxy
    )
    other = sign_up(
        client, capture, newsletter, "b@example.com", HTTP_X_FORWARDED_FOR="2.2.2.2", **proxy
    )
    again = sign_up(
        client, capture, newsletter, "c@example.com", HTTP_X_FORWARDED_FOR="1.1.1.1", **proxy
    )
    assert (ok.status_code, other.status_code, again.status_code) == (200, 200, 429)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "b@example.com",
    ]


def test_confirmation_email_comes_from_the_adapter(
    settings, client, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_MAILFLOW_ADAPTER = ADAPTER
    letters = ContactList.objects.create(name="Letters", double_opt_in=True)
    response = sign_up(client, django_capture_on_commit_callbacks, letters, "ada@example.com")
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "[Acme] Please confirm your subscription to Letters"
    assert message.extra_headers["X-Site"] == "acme"
    assert message.to == ["ada@example.com"] and "/mailflow/confirm/" in message.body


@pytest.mark.parametrize("adapter", ["BrokenMailAdapter", "BrokenTemplateAdapter"])
def test_a_failing_confirmation_email_loses_no_signup(
    settings, client, django_capture_on_commit_callbacks, adapter
):
    # A site's broken confirmation template used to escape as a 500 after the signup committed.
    settings.WAGTAIL_MAILFLOW_ADAPTER = f"tests.test_adapter.{adapter}"
    letters = ContactList.objects.create(name="Letters", double_opt_in=True)
    response = sign_up(client, django_capture_on_commit_callbacks, letters, "ada@example.com")
    assert response.status_code == 200
    assert Contact.objects.filter(email="ada@example.com").exists()
    assert mail.outbox == []


class BrokenMailAdapter(DefaultAdapter):
    def send_confirmation_email(self, membership, **kwargs):
        raise ConnectionError("SMTP server down")


class BrokenTemplateAdapter(DefaultAdapter):
    def get_confirmation_context(self, membership, **kwargs):
        raise TemplateSyntaxError("Invalid block tag 'endblok'")


@pytest.mark.parametrize(
    "path, ok",
    [
        ("wagtail_mailflow.adapter.DefaultAdapter", True),
        (ADAPTER, True),
        ("tests.test_adapter.Missing", False),
        ("tests.test_adapter.NotAnAdapter", False),
    ],
)
def test_adapter_setting_check(settings, path, ok):
    settings.WAGTAIL_MAILFLOW_ADAPTER = path
    ids = [message.id for message in check_signup_settings()]
    assert ids == ([] if ok else ["wagtail_mailflow.E022"])
