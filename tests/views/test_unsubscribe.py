"""Unsubscribe links: signed tokens, a confirmation on GET, RFC 8058 one-click POST."""

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from tests.factories import make_world, statuses
from wagtail_mailflow.engine.exits import (
    record_engagement,
    suppress,
    unsubscribe_everywhere,
    unsubscribe_from_list,
)
from wagtail_mailflow.models import Contact, ContactList, Delivery, Enrollment, ListMembership
from wagtail_mailflow.tokens import (
    InvalidToken,
    make_token,
    read_token,
    unsubscribe_path,
    unsubscribe_url,
    unsubscribe_url_maker,
)

pytestmark = pytest.mark.django_db

S = Delivery.Status

ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def world():
    return make_world()


@pytest.fixture
def provider():
    """A mail provider's one-click POST: no cookies, no CSRF token, CSRF checks enforced."""
    return Client(enforce_csrf_checks=True)


def one_click(client, path):
    return client.post(path, ONE_CLICK, content_type="application/x-www-form-urlencoded")


def snapshot(world):
    contact = Contact.objects.get(pk=world.contact.pk)
    return (
        contact.unsubscribed_at,
        contact.suppressed_at,
        sorted(ListMembership.objects.filter(contact=contact).values_list("pk", "left_at")),
        sorted(Enrollment.objects.filter(contact=contact).values_list("pk", "status")),
        statuses(world),
    )


# -- tokens ------------------------------------------------------------------


def test_token_round_trip_and_absolute_url():
    token = make_token(12, 3)
    assert read_token(token) == (12, 3)
    assert read_token(make_token(12, None)) == (12, None)
    url = unsubscribe_url(12, 3)
    assert url == f"https://example.com/mailflow/unsubscribe/{token}/"
    with override_settings(WAGTAIL_MAILFLOW_BASE_URL="https://news.example.org/"):
        assert unsubscribe_url(12, 3).startswith("https://news.example.org/mailflow/")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: "13" + t[2:],  # another contact
        lambda t: t.replace("-3.", "-4."),  # another list
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # altered signature
        lambda t: t.split(".")[0],  # signature removed
        lambda t: "",
        lambda t: "garbage",
    ],
)
def test_tampered_token_is_refused(tamper):
    token = make_token(12, 3)
    with pytest.raises(InvalidToken):
        read_token(tamper(token))


def test_token_from_another_salt_or_key_is_refused():
    from django.core import signing

    with pytest.raises(InvalidToken):
        read_token(signing.Signer(sep=".").sign("12-3"))  # right key, no package salt
    token = make_token(12, 3)
    with override_settings(SECRET_KEY="another-site-key"), pytest.raises(InvalidToken):
        read_token(token)


def test_rotated_secret_key_still_verifies():
    with override_settings(SECRET_KEY="the-old-key", SECRET_KEY_FALLBACKS=[]):
        token = make_token(12, 3)
    with override_settings(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["the-old-key"]):
        assert read_token(token) == (12, 3)
        # New links are signed with the new key.
        assert make_token(12, 3) != token
    with override_settings(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=[]):
        with pytest.raises(InvalidToken):
            read_token(token)


# -- the page ----------------------------------------------------------------


def test_get_shows_a_confirmation_and_changes_nothing(client, world):
    before = snapshot(world)
    response = client.get(unsubscribe_path(world.contact.pk, world.newsletter.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Newsletter" in html
    assert "a•••@example.com" in html
    assert "ann@example.com" not in html  # the address itself is never shown
    assert 'method="post"' in html and 'value="all"' in html
    assert response["Cache-Control"] == "no-store, private"
    assert "noindex" in response["X-Robots-Tag"]
    # Mail scanners prefetch links, sometimes twice, sometimes with HEAD.
    assert client.get(unsubscribe_path(world.contact.pk, world.newsletter.pk)).status_code == 200
    assert client.head(unsubscribe_path(world.contact.pk, world.newsletter.pk)).status_code == 200
    assert snapshot(world) == before


def test_one_click_post_unsubscribes_from_the_list_only(provider, world):
    response = one_click(provider, unsubscribe_path(world.contact.pk, world.newsletter.pk))
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()

    membership = ListMembership.objects.get(contact=world.contact, contact_list=world.newsletter)
    assert membership.left_at is not None
    enrollment = Enrollment.objects.get(pk=world.enrollment.pk)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "unsubscribed")
    assert enrollment.ended_at is not None
    assert statuses(world) == {
        S.SENT: S.SENT,  # already sent: history stays
        S.SCHEDULED: S.SUPPRESSED,
        S.CLAIMED: S.SUPPRESSED,  # a worker claimed it but never reached the ESP
        S.SENDING: S.SENDING,  # in the ESP's hands
        "other": S.SCHEDULED,  # another list's workflow is untouched
    }
    assert Enrollment.objects.get(pk=world.other_enrollment.pk).status == "active"
    other = ListMembership.objects.get(contact=world.contact, contact_list=world.other_list)
    assert other.left_at is None
    assert Contact.objects.get(pk=world.contact.pk).unsubscribed_at is None


def test_form_button_post_without_csrf_token_works(provider, world):
    response = provider.post(
        unsubscribe_path(world.contact.pk, world.newsletter.pk), {"scope": "list"}
    )
    assert response.status_code == 200
    assert ListMembership.objects.get(contact=world.contact, contact_list=world.newsletter).left_at


def test_post_twice_is_harmless(provider, world):
    path = unsubscribe_path(world.contact.pk, world.newsletter.pk)
    assert one_click(provider, path).status_code == 200
    after_first = snapshot(world)
    response = one_click(provider, path)
    assert response.status_code == 200
    assert snapshot(world) == after_first  # left_at and ended_at keep the first time
    assert "already unsubscribed" in provider.get(path).content.decode()


def test_unsubscribe_from_all_emails(provider, world):
    response = provider.post(
        unsubscribe_path(world.contact.pk, world.newsletter.pk), {"scope": "all"}
    )
    assert response.status_code == 200
    contact = Contact.objects.get(pk=world.contact.pk)
    assert contact.unsubscribed_at is not None
    assert not ListMembership.objects.filter(contact=contact, left_at__isnull=True).exists()
    assert not Enrollment.objects.filter(contact=contact, status="active").exists()
    assert statuses(world)["other"] == S.SUPPRESSED
    assert statuses(world)[S.SENT] == S.SENT


def test_one_click_field_wins_over_scope(provider, world):
    """A provider's one-click POST only ever leaves the list the email came from."""
    provider.post(
        unsubscribe_path(world.contact.pk, world.newsletter.pk),
        "List-Unsubscribe=One-Click&scope=all",
        content_type="application/x-www-form-urlencoded",
    )
    assert Contact.objects.get(pk=world.contact.pk).unsubscribed_at is None


def test_token_without_list_unsubscribes_everywhere(provider, world):
    path = unsubscribe_path(world.contact.pk, None)
    assert 'value="all"' in provider.get(path).content.decode()
    assert one_click(provider, path).status_code == 200
    assert Contact.objects.get(pk=world.contact.pk).unsubscribed_at is not None


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_token_gets_400_and_changes_nothing(client, world, method):
    other = make_world(email="bob@example.com")
    before, before_other = snapshot(world), snapshot(other)
    token = make_token(world.contact.pk, world.newsletter.pk)
    # Take Ann's valid link and edit in Bob's id: the signature covers both ids.
    forged = f"{other.contact.pk}-{world.newsletter.pk}.{token.rsplit('.', 1)[1]}"
    for bad in (forged, token[:-2] + "xx", "1-1.nope"):
        response = getattr(client, method)(f"/mailflow/unsubscribe/{bad}/", {"scope": "all"})
        assert response.status_code == 400
        html = response.content.decode()
        assert "invalid or was altered" in html
        assert "bob" not in html and "ann" not in html
    assert snapshot(world) == before and snapshot(other) == before_other


def test_rotated_key_link_still_unsubscribes(provider, world):
    with override_settings(SECRET_KEY="the-old-key"):
        path = unsubscribe_path(world.contact.pk, world.newsletter.pk)
    with override_settings(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["the-old-key"]):
        assert provider.get(path).status_code == 200
        assert one_click(provider, path).status_code == 200
    assert ListMembership.objects.get(contact=world.contact, contact_list=world.newsletter).left_at
    with override_settings(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=[]):
        assert provider.get(path).status_code == 400


def test_deleted_contact_gets_410(client, world):
    path = unsubscribe_path(world.contact.pk, world.newsletter.pk)
    Contact.objects.filter(pk=world.contact.pk).delete()
    for response in (client.get(path), one_click(client, path)):
        assert response.status_code == 410
        assert "no longer in our records" in response.content.decode()


def test_deleted_list_offers_unsubscribe_from_all(provider, world):
    old_list = ContactList.objects.create(name="Old list")
    ListMembership.objects.create(contact=world.contact, contact_list=old_list)
    path = unsubscribe_path(world.contact.pk, old_list.pk)
    old_list.delete()
    response = provider.get(path)
    assert response.status_code == 410
    assert "no longer exists" in response.content.decode()
    assert one_click(provider, path).status_code == 410
    assert Contact.objects.get(pk=world.contact.pk).unsubscribed_at is None
    assert provider.post(path, {"scope": "all"}).status_code == 200
    assert Contact.objects.get(pk=world.contact.pk).unsubscribed_at is not None


@override_settings(LANGUAGE_CODE="en")
def test_page_is_translatable(client, world):
    Contact.objects.filter(pk=world.contact.pk).update(language="fr")
    response = client.get(unsubscribe_path(world.contact.pk, world.newsletter.pk))
    assert response.status_code == 200
    assert '<html lang="fr">' in response.content.decode()


# -- the set-based functions ---------------------------------------------------


def test_unsubscribe_functions_are_idempotent(world):
    first = unsubscribe_from_list(world.contact, world.newsletter)
    assert (first.memberships, first.enrollments, first.deliveries) == (1, 1, 2)
    again = unsubscribe_from_list(world.contact, world.newsletter)
    assert (again.memberships, again.enrollments, again.deliveries) == (0, 0, 0)
    everywhere = unsubscribe_everywhere(world.contact, source="admin")
    assert (everywhere.contacts, everywhere.memberships, everywhere.enrollments) == (1, 1, 1)
    assert unsubscribe_everywhere(world.contact, source="admin").contacts == 0


def test_suppress_keeps_memberships_and_first_reason(world):
    result = suppress(world.contact.pk, Contact.SuppressionReason.COMPLAINT)
    assert (result.contacts, result.enrollments, result.deliveries) == (1, 2, 3)
    contact = Contact.objects.get(pk=world.contact.pk)
    assert contact.suppression_reason == "complained"
    assert ListMembership.objects.filter(contact=contact, left_at__isnull=True).count() == 2
    assert set(
        Enrollment.objects.filter(contact=contact).values_list("exit_reason", flat=True)
    ) == {"suppressed"}
    suppress([contact.pk], "bounced")
    assert Contact.objects.get(pk=contact.pk).suppression_reason == "complained"
    with pytest.raises(ValueError):
        suppress(contact, "no-such-reason")


def test_set_based_cost_does_not_grow_with_contacts(django_assert_max_num_queries):
    ids = [Contact.objects.create(email=f"c{i}@example.com").pk for i in range(60)]
    with django_assert_max_num_queries(6):
        assert suppress(ids, "manual").contacts == 60
    with django_assert_max_num_queries(6):
        assert suppress(Contact.objects.all(), "manual").contacts == 0
    now = timezone.now()
    with django_assert_max_num_queries(2):
        assert record_engagement(ids, now) == 60


def test_record_engagement_never_goes_backwards():
    contact = Contact.objects.create(email="eve@example.com")
    later = timezone.now()
    earlier = later - timezone.timedelta(hours=3)
    assert record_engagement([contact.pk], later) == 1
    assert record_engagement([contact.pk], earlier) == 0
    contact.refresh_from_db()
    assert contact.last_engaged_at == later


@override_settings(SECRET_KEY="a-key-for-this-test-only-0123456789")
def test_the_batch_url_maker_gives_the_same_links():
    """The dispatcher's maker (pattern reversed, signer built once) equals unsubscribe_url."""
    make_url = unsubscribe_url_maker()
    for contact_id, list_id in [(1, 1), (42, None), (10**12, 7), (3, 0)]:
        url = make_url(contact_id, list_id)
        assert url == unsubscribe_url(contact_id, list_id)
        token = url.rstrip("/").rsplit("/", 1)[-1]
        assert read_token(token) == (contact_id, list_id)
    with override_settings(SECRET_KEY="another-key-for-this-test-0123456789"):
        assert unsubscribe_url_maker()(1, 1) != make_url(1, 1)
