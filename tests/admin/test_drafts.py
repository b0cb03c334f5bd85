"""A draft in the admin: tried out before activation (test send, dry run) and discarded
directly, alone or in bulk."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.factories import make_workflow
from wagtail_mailflow.models import EmailWorkflow

pytestmark = pytest.mark.django_db
Status = EmailWorkflow.Status


def url(name, workflow):
    return reverse(f"mailflow_workflows:{name}", args=[workflow.pk])


@pytest.mark.parametrize("screen", ["inspect", "edit", "review"])
def test_draft_pages_link_test_send_and_dry_run(admin_client, screen):
    draft = make_workflow()
    html = admin_client.get(url(screen, draft)).content.decode()
    assert f'href="{url("test_send", draft)}"' in html
    assert f'href="{url("dry_run", draft)}"' in html
    # A draft has nothing to count yet.
    assert f'href="{url("statistics", draft)}"' not in html


def test_listing_actions_menu_of_a_draft_offers_the_tools_and_delete(admin_client):
    draft = make_workflow()
    html = admin_client.get(reverse("mailflow_workflows:index")).content.decode()
    for action in ("test_send", "dry_run", "delete"):
        assert f'data-mailflow-action="{action}"' in html, action
    assert f'href="{url("delete", draft)}"' in html


def test_test_send_of_a_draft_sends_to_the_editor(admin_client, admin_user, mailoutbox):
    draft = make_workflow()
    response = admin_client.post(url("test_send", draft), {"step": draft.steps.get().pk})
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[admin_user.email]]


def test_editor_without_change_permission_gets_no_test_send_link(client, django_user_model):
    draft = make_workflow()
    user = django_user_model.objects.create_user("viewer", "viewer@example.com", "pw")
    group = Group.objects.create(name="Viewers")
    group.permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_emailworkflow"),
    )
    user.groups.add(group)
    client.force_login(user)
    html = client.get(url("inspect", draft)).content.decode()
    assert f'href="{url("dry_run", draft)}"' in html
    assert f'href="{url("test_send", draft)}"' not in html


def test_draft_is_deleted_after_a_confirmation(admin_client):
    draft = make_workflow(steps=2)
    page = admin_client.get(url("delete", draft))
    assert page.status_code == 200 and "Yes, delete" in page.content.decode()
    assert EmailWorkflow.objects.filter(pk=draft.pk).exists()
    response = admin_client.post(url("delete", draft))
    assert response.status_code == 302
    assert response["Location"] == reverse("mailflow_workflows:index")
    assert not EmailWorkflow.objects.filter(pk=draft.pk).exists()


def test_bulk_delete_takes_drafts_and_archived_and_leaves_the_others(admin_client):
    draft = make_workflow(title="Draft")
    archived = make_workflow(status=Status.ARCHIVED, title="Archived")
    active = make_workflow(status=Status.ACTIVE, title="Active")
    listing = admin_client.get(reverse("mailflow_workflows:index")).content.decode()
    assert "/admin/bulk/wagtail_mailflow/emailworkflow/delete/" in listing
    bulk = reverse("wagtail_bulk_action", args=["wagtail_mailflow", "emailworkflow", "delete"])
    query = (
        f"?id={draft.pk}&id={archived.pk}&id={active.pk}&next={reverse('mailflow_workflows:index')}"
    )
    page = admin_client.get(bulk + query).content.decode()
    assert "cannot be deleted" in page
    assert f'data-mailflow-bulk-item="{draft.pk}"' in page
    assert f'data-mailflow-bulk-item="{active.pk}"' not in page
    assert admin_client.post(bulk + query).status_code == 302
    assert list(EmailWorkflow.objects.values_list("title", flat=True)) == ["Active"]
    assert ModelLogEntry.objects.filter(action="wagtail.delete").count() == 2
