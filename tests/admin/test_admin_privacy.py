"""What a low-privilege staff user sees: no live unsubscribe links, no addresses without the
permission to view contacts, no workflow details before the permission check, and the email
template chooser only with template permissions."""

import re
from html import unescape

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from tests.factories import active_workflow, make_workflow
from wagtail_mailflow.models import (
    Contact,
    ContactList,
    Delivery,
    EmailTemplate,
    EmailWorkflow,
    Enrollment,
    ListMembership,
)
from wagtail_mailflow.tokens import make_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_render_cache():
    """Compiled emails are cached per revision id, and ids come back after a rolled-back test."""
    from wagtail_mailflow import rendering

    rendering.clear_cache()
    yield
    rendering.clear_cache()


def staff(django_user_model, client, *codenames):
    """A real staff user with access to the admin and only the permissions named."""
    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    group = Group.objects.create(name="Low privilege")
    for codename in codenames:
        group.permissions.add(Permission.objects.get(codename=codename))
    user.groups.add(group)
    client.force_login(user)
    return user


def member(email, workflow, **fields):
    contact = Contact.objects.create(email=email, **fields)
    ListMembership.objects.create(contact=contact, contact_list=workflow.contact_list)
    return contact


def srcdocs(html):
    return [unescape(doc) for doc in re.findall(r'srcdoc="([^"]*)"', html)]


def assert_no_live_unsubscribe_link(html, contact, workflow):
    token = make_token(contact.pk, workflow.contact_list_id)
    assert token not in html
    assert "/unsubscribe/" not in html
    assert any('href="#unsubscribe"' in doc for doc in srcdocs(html))


# -- 9: links shown in the admin are not live tokens -------------------------------------------


def test_dry_run_preview_has_no_live_unsubscribe_link(client, django_user_model):
    workflow = active_workflow()
    ada = member("ada@example.com", workflow, first_name="Ada")
    staff(django_user_model, client, "view_emailworkflow", "view_contact")
    response = client.get(
        reverse("mailflow_workflows:dry_run", args=[workflow.pk]), {"email": ada.email}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"Hi\s+Ada", "".join(srcdocs(html)))
    assert_no_live_unsubscribe_link(html, ada, workflow)


def test_sent_email_page_has_no_live_unsubscribe_link(client, django_user_model):
    workflow = active_workflow()
    ada = member("ada@example.com", workflow, first_name="Ada")
    step = workflow.steps.order_by("sort_order").first()
    delivery = Delivery.objects.create(
        enrollment=Enrollment.objects.create(workflow=workflow, contact=ada),
        step=step,
        workflow=workflow,
        contact=ada,
        status=Delivery.Status.SENT,
        due_at=timezone.now(),
        sent_at=timezone.now(),
    )
    staff(django_user_model, client, "view_delivery")
    response = client.get(reverse("mailflow_deliveries:inspect", args=[delivery.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"Hi\s+Ada", "".join(srcdocs(html)))
    assert_no_live_unsubscribe_link(html, ada, workflow)


# -- 9: searching and listing contacts takes the permission to view contacts -----------------


def test_dry_run_without_contact_permission_lists_no_address(client, django_user_model):
    workflow = active_workflow()
    test_list = ContactList.objects.create(name="Testers")
    for name in ("ada", "adam", "bob"):
        contact = member(f"{name}@example.com", workflow, first_name=name)
        ListMembership.objects.create(contact=contact, contact_list=test_list)
    staff(django_user_model, client, "view_emailworkflow")
    url = reverse("mailflow_workflows:dry_run", args=[workflow.pk])
    for params in ({"email": "ada"}, {"email": "bob@example.com"}, {"contact_list": test_list.pk}):
        response = client.get(url, params)
        assert response.status_code == 200
        html = response.content.decode()
        assert "@example.com" not in html.replace("staff@example.com", "")
        assert "data-contacts-not-allowed" in html
        # The timeline itself is no secret.
        assert 'data-step="' in html
    # With the permission, the same search proposes the matching addresses.
    Group.objects.get(name="Low privilege").permissions.add(
        Permission.objects.get(codename="view_contact")
    )
    html = client.get(url, {"email": "ada"}).content.decode()
    assert "ada@example.com" in html and "adam@example.com" in html


# -- 10: the edit URL checks the permission before saying anything about the workflow ---------


@pytest.mark.parametrize("status", [EmailWorkflow.Status.DRAFT, EmailWorkflow.Status.ACTIVE])
def test_edit_url_without_permission_reveals_nothing(client, django_user_model, status):
    workflow = make_workflow(status=status, title="Secret launch plan")
    staff(django_user_model, client)
    response = client.get(reverse("mailflow_workflows:edit", args=[workflow.pk]), follow=True)
    html = response.content.decode()
    assert "Secret launch plan" not in html
    assert "cannot be edited" not in html
    assert "permission" in html.lower()


def test_edit_url_with_view_permission_only_reveals_nothing(client, django_user_model):
    workflow = make_workflow(status=EmailWorkflow.Status.ACTIVE, title="Secret launch plan")
    staff(django_user_model, client, "view_emailworkflow")
    response = client.get(reverse("mailflow_workflows:edit", args=[workflow.pk]))
    assert response.status_code in (302, 403)
    messages = [str(m) for m in response.wsgi_request._messages]
    assert not any("Secret launch plan" in m for m in messages)


# -- 11: the email template chooser -----------------------------------------------------------


def chooser_url(name="choose"):
    from wagtail_mailflow.viewsets import email_template_viewset

    return reverse(email_template_viewset.chooser_viewset.get_url_name(name))


def test_template_chooser_lists_nothing_without_template_permissions(client, django_user_model):
    make_workflow(steps=1)
    staff(django_user_model, client, "view_emailworkflow", "change_emailworkflow")
    for name in ("choose", "choose_results"):
        response = client.get(chooser_url(name))
        assert response.status_code in (302, 403)
        assert "Email 1" not in response.content.decode()


@pytest.mark.parametrize("codename", ["view_emailtemplate", "change_emailtemplate"])
def test_template_chooser_lists_templates_to_template_users(client, django_user_model, codename):
    make_workflow(steps=1)
    staff(django_user_model, client, codename)
    response = client.get(chooser_url("choose_results"))
    assert response.status_code == 200
    assert "Email 1" in response.content.decode()


def test_template_chooser_create_step_is_hidden_not_a_500(client, django_user_model):
    staff(django_user_model, client, "add_emailtemplate", "view_emailtemplate")
    response = client.get(chooser_url())
    assert response.status_code == 200
    assert '"step": "choose"' in response.content.decode()
    # No creation form in the modal: the full editor creates templates. Its URL is gone.
    with pytest.raises(NoReverseMatch):
        chooser_url("create")
    count = EmailTemplate.objects.count()
    create = chooser_url() + "create/"
    assert client.get(create).status_code == 404
    assert client.post(create, {"name": "Sneaky"}).status_code == 404
    assert EmailTemplate.objects.count() == count
