"""Helpers for the signup tests: commit a request's on-commit work as a real commit would, render
the subscribe tag and read its form, build a signup form page and post to it."""

import re
from contextlib import contextmanager
from html import unescape

from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from wagtail.models import Site

from tests.testapp.models import SignupFormPage
from wagtail_mailflow.models import SignupFieldMapping


@contextmanager
def committed(capture):
    """Run the on-commit callbacks of the block (and those they add), then forget them.

    pytest-django keeps every test in one transaction; ``capture(execute=True)``
    runs the callbacks but leaves them queued on the connection, where the
    engine's once-per-transaction wake-up would find them and not queue another.
    """
    start = len(connection.run_on_commit)
    with capture(execute=True) as callbacks:
        yield callbacks
    del connection.run_on_commit[start:]


def render_tag(arguments='"Newsletter"'):
    request = RequestFactory().get("/")
    template = Template("{% load mailflow %}{% mailflow_subscribe_form " + arguments + " %}")
    return template.render(Context({"request": request}))


def form_of(html):
    """(action, hidden form config) of the rendered form."""
    action = re.search(r'<form class="mailflow-subscribe" action="([^"]+)"', html)[1]
    config = re.search(r'name="form" value="([^"]+)"', html)[1]
    return unescape(action), unescape(config)


def home():
    return Site.objects.get(is_default_site=True).root_page


def make_page(contact_list, *, consent_field="", email_field="", mappings=(), to_address=""):
    page = SignupFormPage(
        title="Join us",
        slug="join",
        mailflow_list=contact_list,
        mailflow_email_field=email_field,
        mailflow_consent_field=consent_field,
        to_address=to_address,
        from_address="site@example.com" if to_address else "",
        subject="New signup" if to_address else "",
    )
    home().add_child(instance=page)
    fields = [
        ("Your email", "email", True),
        ("First name", "singleline", False),
        ("City", "singleline", False),
        ("Points", "singleline", False),
        ("I agree to receive the newsletter", "checkbox", False),
    ]
    for position, (label, field_type, required) in enumerate(fields):
        page.form_fields.create(
            sort_order=position, label=label, field_type=field_type, required=required
        )
    for position, (form_field, contact_field) in enumerate(mappings):
        SignupFieldMapping.objects.create(
            page=page, sort_order=position, form_field=form_field, contact_field=contact_field
        )
    page.save_revision().publish()
    return SignupFormPage.objects.get(pk=page.pk)


def submit(client, page, capture, execute=True, **data):
    if not execute:
        with capture(execute=False) as callbacks:
            response = client.post(page.url, data)
        return response, callbacks
    with committed(capture) as callbacks:
        response = client.post(page.url, data)
    return response, callbacks
