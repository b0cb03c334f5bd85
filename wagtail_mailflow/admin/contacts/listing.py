"""The contact listing: the sending state of each contact and the filters."""

import django_filters
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.filters import WagtailFilterSet

from ...models import (
    Contact,
    ContactList,
    ListMembership,
)

Source = ListMembership.Source


class ContactState(models.TextChoices):
    """Whether a contact can be sent email, for the listing's filter."""

    SUBSCRIBED = "subscribed", gettext_lazy("Can receive email")
    UNSUBSCRIBED = "unsubscribed", gettext_lazy("Unsubscribed from everything")
    SUPPRESSED = "suppressed", gettext_lazy("Suppressed")


def contact_state_label(contact):
    """A short label for the contact's sending state."""
    if contact.suppressed_at is not None:
        return _("Suppressed (%(reason)s)") % {"reason": contact.get_suppression_reason_display()}
    if contact.unsubscribed_at is not None:
        return _("Unsubscribed")
    return _("Subscribed")


class ContactFilterSet(WagtailFilterSet):
    contact_list = django_filters.ModelChoiceFilter(
        label=gettext_lazy("List"),
        queryset=ContactList.objects.all(),
        method="filter_list",
        empty_label=gettext_lazy("Any list"),
    )
    source = django_filters.ChoiceFilter(
        label=gettext_lazy("Joined through"),
        choices=Source.choices,
        method="filter_source",
        empty_label=gettext_lazy("Any source"),
    )
    state = django_filters.ChoiceFilter(
        label=gettext_lazy("State"),
        choices=ContactState.choices,
        method="filter_state",
        empty_label=gettext_lazy("Any state"),
    )

    class Meta:
        model = Contact
        fields = ["language"]

    def _memberships(self):
        # list and source together mean one membership with both (a subquery, so no duplicates).
        memberships = ListMembership.objects.filter(contact=OuterRef("pk"), left_at__isnull=True)
        data = self.form.cleaned_data
        if data.get("contact_list"):
            memberships = memberships.filter(contact_list=data["contact_list"])
        if data.get("source"):
            memberships = memberships.filter(source=data["source"])
        return memberships

    def filter_list(self, queryset, name, value):
        return queryset.filter(Exists(self._memberships())) if value else queryset

    def filter_source(self, queryset, name, value):
        if not value or self.form.cleaned_data.get("contact_list"):
            return queryset  # already applied together with the list
        return queryset.filter(Exists(self._memberships()))

    def filter_state(self, queryset, name, value):
        if value == ContactState.SUBSCRIBED:
            return queryset.reachable()
        if value == ContactState.UNSUBSCRIBED:
            return queryset.filter(unsubscribed_at__isnull=False)
        if value == ContactState.SUPPRESSED:
            return queryset.filter(suppressed_at__isnull=False)
        return queryset
