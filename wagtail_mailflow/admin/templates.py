"""Email templates in the admin: a snippet with revisions, draft/publish and live preview."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import LiveStatusTagColumn, UpdatedAtColumn
from wagtail.snippets.views.snippets import SnippetViewSet

from ..models import EmailTemplate


class EmailTemplateViewSet(SnippetViewSet):
    """Email templates: revisions, draft/publish and live preview (HTML and plain text)."""

    model = EmailTemplate
    icon = "mail"
    menu_label = _("Email templates")
    url_prefix = "mailflow/templates"
    add_to_admin_menu = False
    search_fields = ["name", "subject"]
    list_display = ["name", "subject", LiveStatusTagColumn(), UpdatedAtColumn()]
    list_filter = ["live"]


email_template_viewset = EmailTemplateViewSet()
