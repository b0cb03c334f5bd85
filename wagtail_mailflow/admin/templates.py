"""Email templates in the admin: a snippet with revisions, draft/publish and live preview."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import LiveStatusTagColumn, UpdatedAtColumn
from wagtail.snippets.views import chooser
from wagtail.snippets.views.snippets import SnippetViewSet

from ..models import EmailTemplate
from .policies import policy_for

#: Any of these permissions on templates lets a user see them in the chooser (as in the listing).
TEMPLATE_ACTIONS = ["add", "change", "delete", "view"]


class TemplatePermissionRequired:
    """Chooser views answer only users with a permission on email templates."""

    def dispatch(self, request, *args, **kwargs):
        policy = policy_for(EmailTemplate)
        if not policy.user_has_any_permission(request.user, TEMPLATE_ACTIONS):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class EmailTemplateChooserViewSet(chooser.SnippetChooserViewSet):
    """The template chooser: listed only with template permissions, and without a "create" step.

    A template is a document with blocks, edited in the snippet editor; the modal has no
    creation form (the "Create" tab is not shown), so its URL is not routed either.
    """

    choose_view_class = type("ChooseView", (TemplatePermissionRequired, chooser.ChooseView), {})
    choose_results_view_class = type(
        "ChooseResultsView", (TemplatePermissionRequired, chooser.ChooseResultsView), {}
    )
    chosen_view_class = type(
        "ChosenView", (TemplatePermissionRequired, chooser.SnippetChosenView), {}
    )
    chosen_multiple_view_class = type(
        "ChosenMultipleView", (TemplatePermissionRequired, chooser.SnippetChosenMultipleView), {}
    )

    def get_urlpatterns(self):
        return [p for p in super().get_urlpatterns() if getattr(p, "name", None) != "create"]


class EmailTemplateViewSet(SnippetViewSet):
    """Email templates: revisions, draft/publish and live preview (HTML and plain text)."""

    model = EmailTemplate
    chooser_viewset_class = EmailTemplateChooserViewSet
    icon = "mail"
    menu_label = _("Email templates")
    url_prefix = "mailflow/templates"
    add_to_admin_menu = False
    search_fields = ["name", "subject"]
    list_display = ["name", "subject", LiveStatusTagColumn(), UpdatedAtColumn()]
    list_filter = ["live"]


email_template_viewset = EmailTemplateViewSet()
