"""The condition builder: its rows rendered from the field and operator definitions, the
JSON it saves with or without JavaScript, and the live count's endpoint (count, samples,
permissions, errors with their position)."""

import json

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tests.factories import ContactFactory
from wagtail_mailflow.admin.conditions import ConditionBuilder
from wagtail_mailflow.conditions import OPERATOR_LABELS, OPERATORS, ConditionError, parse
from wagtail_mailflow.models import ContactList, ContactProperty, ListMembership, Segment

pytestmark = pytest.mark.django_db

SEGMENT_COUNT = "mailflow_segments:condition_count"
WORKFLOW_COUNT = "mailflow_workflows:condition_count"


@pytest.fixture
def properties():
    return {
        "points": ContactProperty.objects.create(
            name="points", label="Loyalty points", type="number"
        ),
        "vip": ContactProperty.objects.create(name="vip", label="VIP", type="boolean"),
        "signed_up": ContactProperty.objects.create(name="signed_up", label="", type="date"),
    }


def render(spec):
    html = ConditionBuilder(SEGMENT_COUNT).render("conditions", json.dumps(spec), {"id": "id_c"})
    return BeautifulSoup(html, "html.parser")


def rows(soup):
    # The <template>'s blank row is not one of the conditions.
    return soup.select("ol[data-mailflow-conditions-target=rows] > li")


def options(select):
    return [(o["value"], o.get_text(strip=True)) for o in select.find_all("option")]


def test_the_rows_show_each_condition_with_its_field_operators_and_value_input(properties):
    spec = {
        "match": "any",
        "conditions": [
            {"field": "points", "operator": "gte", "value": 100},
            {"field": "signed_up", "operator": "within_last_days", "value": 30},
            {"field": "vip", "operator": "is_true"},
            {"field": "first_name", "operator": "is_set"},
            {"field": "signed_up", "operator": "equals", "value": "2024-05-01"},
        ],
    }
    soup = render(spec)
    points, recent, vip, named, on_date = rows(soup)

    # Fields: the contact's own, then every property by label (its name without one).
    assert options(points.select_one("[data-role=field]")) == [
        ("email", "Email address"),
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("language", "Language"),
        ("timezone", "Timezone"),
        ("points", "Loyalty points"),
        ("signed_up", "Signed_up"),
        ("vip", "VIP"),
    ]
    assert points.select_one("[data-role=field] option[selected]")["value"] == "points"

    # Operators: only the field type's, in words.
    assert options(points.select_one("[data-role=operator]")) == [
        ("equals", "equals"),
        ("not_equals", "does not equal"),
        ("gt", "is more than"),
        ("gte", "is at least"),
        ("lt", "is less than"),
        ("lte", "is at most"),
        ("is_set", "is set"),
        ("is_not_set", "is not set"),
    ]
    assert [o for o, _ in options(vip.select_one("[data-role=operator]"))] == list(
        OPERATORS["boolean"]
    )
    assert options(named.select_one("[data-role=operator]"))[:2] == [
        ("equals", "is"),
        ("not_equals", "is not"),
    ]

    # Values: an input of the field's type, days for relative dates, none for "is set".
    value = points.select_one("[data-role=value]")
    assert (value["type"], value["value"], value.has_attr("hidden")) == ("number", "100", False)
    value = recent.select_one("[data-role=value]")
    assert (value["type"], value["value"], value["min"]) == ("number", "30", "0")
    assert not recent.select_one("[data-role=days]").has_attr("hidden")
    assert vip.select_one("[data-role=value]").has_attr("hidden")
    assert named.select_one("[data-role=value]").has_attr("hidden")
    assert named.select_one("[data-role=operator] option[selected]")["value"] == "is_set"
    # "equals" on a date is stored as such and shown as its canonical "is on".
    assert on_date.select_one("[data-role=operator] option[selected]")["value"] == "on"
    value = on_date.select_one("[data-role=value]")
    assert (value["type"], value["value"]) == ("date", "2024-05-01")

    assert soup.select_one("[data-mailflow-conditions-target=match] option[selected]")["value"] == (
        "any"
    )


def test_the_json_textarea_keeps_the_stored_form_and_the_builder_waits_for_javascript(
    properties,
):
    spec = {"match": "all", "conditions": [{"field": "points", "operator": "gte", "value": 100}]}
    soup = render(spec)
    textarea = soup.select_one("textarea[name=conditions]")
    assert json.loads(textarea.get_text()) == spec
    # Without JavaScript the rows stay hidden and the textarea is the field.
    assert soup.select_one("[data-mailflow-conditions-target=builder]").has_attr("hidden")
    assert not soup.select_one("[data-mailflow-conditions-target=fallback]").has_attr("hidden")
    assert soup.select_one("[data-controller=mailflow-conditions]")[
        "data-mailflow-conditions-count-url-value"
    ] == reverse(SEGMENT_COUNT)
    config = json.loads(soup.select_one("#id_c-builder-config").get_text())
    assert {f["name"]: f["type"] for f in config["fields"]}["points"] == "number"
    assert [o["kind"] for o in config["operators"]["date"]][-4:] == [
        "days",
        "days",
        "none",
        "none",
    ]


def test_json_the_rows_cannot_show_stays_editable_as_json():
    html = ConditionBuilder(SEGMENT_COUNT).render("conditions", "[1, 2", {"id": "id_c"})
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one("textarea").get_text().strip() == "[1, 2"
    assert not soup.select_one("[data-mailflow-conditions-target=unreadable]").has_attr("hidden")
    assert rows(soup) == []


def test_a_deleted_property_stays_in_its_row_marked_unknown():
    soup = render({"conditions": [{"field": "gone", "operator": "equals", "value": "x"}]})
    (row,) = rows(soup)
    assert row.select_one("[data-role=field] option[selected]").get_text() == "gone (unknown)"


def test_the_segment_form_uses_the_builder_and_saves_the_json_without_javascript(
    admin_client, properties
):
    response = admin_client.get(reverse("mailflow_segments:add"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-controller="mailflow-conditions"' in content
    assert "wagtail_mailflow/js/condition-builder.js" in content
    spec = {"match": "all", "conditions": [{"field": "points", "operator": "gte", "value": 100}]}
    response = admin_client.post(
        reverse("mailflow_segments:add"),
        {"name": "Loyal", "description": "", "conditions": json.dumps(spec)},
    )
    assert response.status_code == 302
    assert Segment.objects.get(name="Loyal").conditions == spec


def test_the_contact_update_trigger_uses_the_builder_counting_in_the_workflows_list(
    admin_client,
):
    response = admin_client.get(reverse("mailflow_workflows:add") + "?scenario=property_update")
    soup = BeautifulSoup(response.content, "html.parser")
    builder = soup.select_one("[data-controller=mailflow-conditions]")
    assert builder.select_one("textarea")["name"] == "trigger_conditions"
    assert builder["data-mailflow-conditions-list-field-value"] == "contact_list"
    assert builder["data-mailflow-conditions-count-url-value"] == reverse(WORKFLOW_COUNT)


def test_every_operator_of_every_type_has_its_words():
    assert {type_: list(labels) for type_, labels in OPERATOR_LABELS.items()} == {
        type_: list(operators) for type_, operators in OPERATORS.items()
    }


def test_a_condition_error_says_which_condition(properties):
    with pytest.raises(ConditionError) as caught:
        parse(
            {
                "conditions": [
                    {"field": "points", "operator": "gte", "value": 1},
                    {"field": "points", "operator": "contains", "value": "x"},
                ]
            }
        )
    assert caught.value.position == 2
    assert str(caught.value).startswith("Condition 2: ")


# -- The live count ---------------------------------------------------------------------------


@pytest.fixture
def newsletter(properties):
    newsletter = ContactList.objects.create(name="Newsletter")
    for email, points in [
        ("ann@example.com", 150),
        ("bob@example.com", 50),
        ("cy@example.com", 300),
    ]:
        contact = ContactFactory(email=email, properties={"points": points})
        ListMembership.objects.create(contact=contact, contact_list=newsletter)
    ContactFactory(email="outsider@example.com", properties={"points": 500})
    return newsletter


LOYAL = {"match": "all", "conditions": [{"field": "points", "operator": "gte", "value": 100}]}


def count(client, name=SEGMENT_COUNT, spec=LOYAL, **params):
    return client.get(reverse(name), {"conditions": json.dumps(spec), **params})


def user_with(django_user_model, client, *codenames):
    group = Group.objects.create(name="Condition builder users")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        *Permission.objects.filter(
            content_type__app_label="wagtail_mailflow", codename__in=codenames
        ),
    )
    user = django_user_model.objects.create_user(username="editor", password="pw")
    user.groups.add(group)
    client.force_login(user)
    return client


def test_the_count_of_matching_contacts_in_a_list_with_a_few_of_them(admin_client, newsletter):
    response = count(admin_client, contact_list=newsletter.pk)
    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "text": "2 contacts of 'Newsletter' match now.",
        "contacts": ["ann@example.com", "cy@example.com"],
    }
    # Without a list: every contact who can receive email.
    response = count(admin_client)
    assert (response.json()["count"], response.json()["text"]) == (3, "3 contacts match now.")
    # The workflow's endpoint answers the same.
    response = count(admin_client, WORKFLOW_COUNT, contact_list=newsletter.pk)
    assert response.json()["count"] == 2


def test_no_condition_matches_the_whole_list(admin_client, newsletter):
    response = count(
        admin_client, spec={"match": "all", "conditions": []}, contact_list=newsletter.pk
    )
    assert response.json()["count"] == 3


def test_the_addresses_only_for_users_who_may_view_contacts(client, django_user_model, newsletter):
    editor = user_with(django_user_model, client, "change_segment")
    response = count(editor, contact_list=newsletter.pk)
    assert response.status_code == 200
    assert response.json() == {"count": 2, "text": "2 contacts of 'Newsletter' match now."}

    Group.objects.get(name="Condition builder users").permissions.add(
        Permission.objects.get(content_type__app_label="wagtail_mailflow", codename="view_contact")
    )
    response = count(editor, contact_list=newsletter.pk)
    assert response.json()["contacts"] == ["ann@example.com", "cy@example.com"]


def test_403_without_permission_on_what_the_conditions_belong_to(
    client, django_user_model, newsletter
):
    # Allowed to view contacts and to edit segments, not workflows.
    user_with(django_user_model, client, "view_contact", "add_segment")
    assert count(client, WORKFLOW_COUNT).status_code == 403
    assert count(client, SEGMENT_COUNT).status_code == 200


def test_403_for_a_segment_viewer_and_a_workflow_editor(client, django_user_model, newsletter):
    user_with(django_user_model, client, "view_segment", "change_emailworkflow")
    assert count(client, SEGMENT_COUNT).status_code == 403
    assert count(client, WORKFLOW_COUNT).status_code == 200


@pytest.mark.parametrize(
    ("conditions", "error", "position"),
    [
        (
            json.dumps(
                {
                    "match": "all",
                    "conditions": [
                        {"field": "points", "operator": "gte", "value": 1},
                        {"field": "points", "operator": "gte", "value": "lots"},
                    ],
                }
            ),
            "Condition 2: points: 'lots' is not a number.",
            2,
        ),
        (
            json.dumps({"conditions": [{"field": "nope", "operator": "equals", "value": "x"}]}),
            "Condition 1: unknown field “nope”: there is no contact property by that name.",
            1,
        ),
        (json.dumps({"match": "some"}), "Match must be “all” or “any”, not “some”.", None),
        ('{"match": ', "The conditions are not valid JSON.", None),
    ],
)
def test_400_with_the_error_and_its_row_for_a_bad_condition_set(
    admin_client, newsletter, conditions, error, position
):
    response = admin_client.get(reverse(SEGMENT_COUNT), {"conditions": conditions})
    assert response.status_code == 400
    assert response.json() == {"error": error, "position": position}


def test_400_for_an_unknown_list(admin_client, newsletter):
    response = count(admin_client, contact_list="999999")
    assert response.status_code == 400
    assert response.json() == {"error": "Unknown contact list.", "position": None}
