"""Sent emails: a read-only, filterable listing of deliveries and the message as it was sent.

Deliveries are written by the engine only: the listing has no add, edit, copy
or delete views, and its registered permission policy (``policies.ViewOnlyPermissionPolicy``)
grants nothing but "view", so Wagtail shows no buttons for them either.
"""

import django_filters
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import BulkActionsCheckboxColumn, Column, TitleColumn
from wagtail.admin.views.generic.models import IndexView, InspectView
from wagtail.admin.viewsets.model import ModelViewSet

from .. import rendering
from ..models import Delivery, EmailWorkflow, WorkflowStep
from . import policies
from .columns import DELIVERY_TONES, MomentColumn, StatusColumn
from .resend import can_send_again
from .titles import TranslatedTitleMixin


class StepChoiceField(django_filters.fields.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.workflow} — {obj.template}"


class StepFilter(django_filters.ModelChoiceFilter):
    field_class = StepChoiceField


class DeliveryFilterSet(WagtailFilterSet):
    workflow = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Workflow"), queryset=EmailWorkflow.objects.order_by("title")
    )
    step = StepFilter(
        label=gettext_lazy("Email"),
        queryset=WorkflowStep.objects.select_related("workflow", "template").order_by(
            "workflow__title", "sort_order", "pk"
        ),
    )
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), choices=Delivery.Status.choices
    )
    date = django_filters.DateFromToRangeFilter(
        label=gettext_lazy("Sent (or due, if not sent)"),
        method="filter_date",
        widget=DateRangePickerWidget,
    )

    class Meta:
        model = Delivery
        fields = ["workflow", "step", "status"]

    def filter_date(self, queryset, name, value):
        """Sent emails by their sending day, the others by their due day."""
        if not value:
            return queryset
        q_sent, q_due = Q(), Q(sent_at__isnull=True)
        if value.start is not None:
            q_sent &= Q(sent_at__gte=value.start)
            q_due &= Q(due_at__gte=value.start)
        if value.stop is not None:  # the end of the last day (23:59:59.999999)
            q_sent &= Q(sent_at__lte=value.stop)
            q_due &= Q(due_at__lte=value.stop)
        if not q_sent:
            return queryset
        return queryset.filter(q_sent | q_due)


class DeliveryIndexView(IndexView):
    """The listing; with "Send again" on selected rows for users who may change workflows."""

    template_name = "wagtail_mailflow/admin/deliveries/index.html"

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("contact", "workflow", "step__template")

    @cached_property
    def can_send_again(self):
        return can_send_again(self.request.user)

    @cached_property
    def columns(self):
        columns = super().columns
        if self.can_send_again:
            columns = [BulkActionsCheckboxColumn("bulk_actions", obj_type="delivery"), *columns]
        return columns

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        context["can_send_again"] = self.can_send_again
        return context


def _re_render(delivery):
    """The message of ``delivery`` re-rendered from the step's frozen revision, and a note.

    Returns ``(rendered or None, note, error)``.
    """
    step, workflow, contact = delivery.step, delivery.workflow, delivery.contact
    note = _(
        "Re-rendered now from the template revision this workflow froze when it was activated, "
        "for this contact's current data: what the contact received, unless their data has "
        "changed since."
    )
    try:
        if step.template_revision_id:
            compiled = rendering.compile_revision(step.template_revision_id, workflow.language)
        else:
            note = _(
                "This workflow has no frozen revision for this email: shown as the template "
                "is now, which may differ from what was sent."
            )
            compiled = rendering.compile_template(step.template, workflow.language)
    except (rendering.TemplateError, ValueError) as exc:
        return None, note, str(exc)
    if contact is None:
        values = rendering.sample_values()
        note = _("The contact has been erased: shown with sample data.")
    else:
        values = rendering.contact_values(contact)
    # Never the contact's live unsubscribe link: whoever views this page could click it.
    return compiled.render(values, rendering.PREVIEW_UNSUBSCRIBE_URL), note, None


class DeliveryInspectView(TranslatedTitleMixin, InspectView):
    template_name = "wagtail_mailflow/admin/deliveries/inspect.html"

    def get_object(self, queryset=None):
        return get_object_or_404(
            Delivery.objects.select_related(
                "contact", "workflow", "step__template", "step__template_revision"
            ),
            pk=self.pk,
        )

    def get_edit_url(self):
        return None

    def get_delete_url(self):
        return None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        delivery = self.object
        rendered, note, error = _re_render(delivery)
        context.update(
            delivery=delivery,
            rendered=rendered,
            render_note=note,
            render_error=error,
            recipient=delivery.contact.email if delivery.contact else "—",
            events=list(delivery.events.order_by("timestamp", "pk")),
        )
        return context


class DeliveryViewSet(ModelViewSet):
    model = Delivery
    icon = "mail"
    menu_label = gettext_lazy("Sent emails")
    url_prefix = "mailflow/sent-emails"
    add_to_admin_menu = False
    inspect_view_enabled = True
    copy_view_enabled = False
    index_view_class = DeliveryIndexView
    inspect_view_class = DeliveryInspectView
    filterset_class = DeliveryFilterSet
    search_fields = None
    list_export = []
    list_display = [
        TitleColumn(
            "contact",
            label=gettext_lazy("To"),
            accessor=lambda d: d.contact.email if d.contact else "—",
            url_name="mailflow_deliveries:inspect",
        ),
        Column("workflow", label=gettext_lazy("Workflow")),
        Column("step", label=gettext_lazy("Email"), accessor="step.template"),
        StatusColumn(
            "status",
            DELIVERY_TONES,
            label=gettext_lazy("Status"),
            accessor="get_status_display",
        ),
        MomentColumn("sent_at", label=gettext_lazy("Sent")),
        MomentColumn("due_at", label=gettext_lazy("Due")),
        Column("attempts", label=gettext_lazy("Attempts")),
    ]

    @property
    def permission_policy(self):
        # Registered from wagtail_hooks as a view-only policy.
        return policies.policy_for(Delivery)

    def get_common_view_kwargs(self, **kwargs):
        view_kwargs = super().get_common_view_kwargs(**kwargs)
        for name in ("add_url_name", "edit_url_name", "delete_url_name", "copy_url_name"):
            view_kwargs[name] = None
        view_kwargs["history_url_name"] = None
        view_kwargs["usage_url_name"] = None
        return view_kwargs

    def get_urlpatterns(self):
        # Only the listing and the inspect view: no add, edit, copy, delete or history.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("inspect/<int:pk>/", self.inspect_view, name="inspect"),
        ]

    def get_permissions_to_register(self):
        content_type = ContentType.objects.get_for_model(Delivery, for_concrete_model=False)
        return Permission.objects.filter(content_type=content_type, codename="view_delivery")


delivery_viewset = DeliveryViewSet("mailflow_deliveries")
