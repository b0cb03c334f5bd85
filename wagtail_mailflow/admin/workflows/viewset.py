"""The workflow viewset: it owns every workflow URL, so names and breadcrumbs come from it."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column
from wagtail.admin.viewsets.model import ModelViewSet

from ...models import EmailWorkflow
from ..columns import WORKFLOW_TONES, MomentColumn, StatusColumn
from ..conditions import ConditionCountView
from . import actions
from .dry_run import DryRunView
from .editor import edit_handler_for, eligible_count
from .links import NAMESPACE
from .review import ReviewView
from .statistics import WorkflowStatisticsView
from .template_return import new_template
from .test_send import TestSendView
from .views import (
    WorkflowCreateView,
    WorkflowDeleteView,
    WorkflowEditView,
    WorkflowIndexView,
    WorkflowInspectView,
)

Scenario = EmailWorkflow.Scenario


class WorkflowViewSet(ModelViewSet):
    model = EmailWorkflow
    icon = "mailflow-workflow"
    menu_label = _("Workflows")
    url_prefix = "mailflow/workflows"
    add_to_admin_menu = False
    inspect_view_enabled = True
    copy_view_enabled = False  # "Duplicate" replaces it
    list_filter = ["status", "scenario"]
    search_fields = ["title"]
    index_view_class = WorkflowIndexView
    add_view_class = WorkflowCreateView
    edit_view_class = WorkflowEditView
    delete_view_class = WorkflowDeleteView
    inspect_view_class = WorkflowInspectView
    list_display = [
        "title",
        Column("scenario", label=_("Scenario"), accessor="get_scenario_display"),
        StatusColumn(
            "status",
            WORKFLOW_TONES,
            label=_("Status"),
            accessor="get_status_display",
        ),
        Column("contact_list", label=_("Contact list")),
        MomentColumn("updated_at", label=_("Updated")),
    ]
    inspect_view_fields = [
        "title",
        "status",
        "scenario",
        "language",
        "timezone",
        "contact_list",
        "segment",
        "activated_at",
        "locked_at",
        "stopped_at",
        "archived_at",
        "duplicated_from",
    ]

    def get_edit_handler(self):
        return edit_handler_for(Scenario.WELCOME)

    def get_urlpatterns(self):
        return super().get_urlpatterns() + [
            path("review/<int:pk>/", ReviewView.as_view(), name="review"),
            path("activate/<int:pk>/", actions.ActivateView.as_view(), name="activate"),
            path("lock/<int:pk>/", actions.LockView.as_view(), name="lock"),
            path("stop/<int:pk>/", actions.StopView.as_view(), name="stop"),
            path("archive/<int:pk>/", actions.ArchiveView.as_view(), name="archive"),
            path("restore/<int:pk>/", actions.UnarchiveView.as_view(), name="unarchive"),
            path("duplicate/<int:pk>/", actions.DuplicateView.as_view(), name="duplicate"),
            path("new-template/<int:pk>/", new_template, name="new_template"),
            path("eligible-count/", eligible_count, name="eligible_count"),
            path(
                "condition-count/",
                ConditionCountView.as_view(model=EmailWorkflow),
                name="condition_count",
            ),
            path("<int:pk>/statistics/", WorkflowStatisticsView.as_view(), name="statistics"),
            path("<int:pk>/test-send/", TestSendView.as_view(), name="test_send"),
            path("<int:pk>/dry-run/", DryRunView.as_view(), name="dry_run"),
        ]


workflow_viewset = WorkflowViewSet(NAMESPACE)
