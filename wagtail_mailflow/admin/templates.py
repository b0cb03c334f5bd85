"""Email templates in the admin: a snippet with revisions, draft/publish and live preview."""

import time

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse, reverse_lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import LiveStatusTagColumn, UpdatedAtColumn
from wagtail.snippets.views import chooser
from wagtail.snippets.views.snippets import CreateView, EditView, SnippetViewSet

from ..models import EmailTemplate, EmailWorkflow
from ..rendering import starters
from .placeholders import menu_config
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


#: The session key remembering the template an editor's create form has already made.
CREATED_KEY = "wagtail_mailflow_template_created"
#: How long after its creation a create form's next post goes to that template instead.
CREATED_SECONDS = 120


#: The query parameter of a review page's "Fix it" link to a template: the workflow to return to.
REVIEW_RETURN_PARAM = "review"
#: The session key remembering it until the template is published.
REVIEW_RETURN_KEY = "wagtail_mailflow_review_return"


def remember_review(request, template_pk):
    """The template editor was opened from a review's "Fix it": return there once published."""
    value = request.GET.get(REVIEW_RETURN_PARAM, "")
    if value.isdigit() and EmailWorkflow.objects.filter(pk=value).exists():
        request.session[REVIEW_RETURN_KEY] = {"template": template_pk, "workflow": int(value)}


class PlaceholderMenuMixin:
    """The editor's "Insert a placeholder" menu, with the properties defined now; its script
    and styles join the editor's media."""

    menu_media = forms.Media(
        css={"all": ["wagtail_mailflow/css/placeholders.css"]},
        js=["wagtail_mailflow/js/placeholders.js"],
    )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["placeholder_menu"] = menu_config()
        context["media"] = context["media"] + self.menu_media
        return context


class EmailTemplateCreateView(PlaceholderMenuMixin, CreateView):
    """Creating a template once, however the create form is posted.

    Autosave creates the template in the background, then switches the form to the edit
    view; a "Publish" (or another autosave) posted to the create URL before that switch
    goes to the template already made (a 307 keeps the post) instead of creating a copy.
    """

    def get(self, request, *args, **kwargs):
        request.session.pop(CREATED_KEY, None)  # a new, empty create form
        return super().get(request, *args, **kwargs)

    @property
    def starter(self):
        return starters.BY_KEY.get(self.request.GET.get("starter", ""))

    def get_initial_form_instance(self):
        instance = super().get_initial_form_instance() or EmailTemplate()
        starter = self.starter
        if starter is not None:
            content = starter.build(get_language())
            instance.name = str(starter.label)
            instance.subject = content["subject"]
            instance.preheader = content["preheader"]
            instance.body = content["body"]
        return instance

    def get_add_url(self):
        # The form posts back with the starter, so a form with errors keeps it.
        url = super().get_add_url()
        return f"{url}?starter={self.starter.key}" if self.starter else url

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        add_url = reverse(email_template_viewset.get_url_name("add"))
        context["starters"] = [
            {
                "key": starter.key,
                "label": starter.label,
                "description": starter.description,
                "url": f"{add_url}?starter={starter.key}",
                "chosen": self.starter is not None and starter.key == self.starter.key,
            }
            for starter in starters.STARTERS
        ]
        return context

    def post(self, request, *args, **kwargs):
        created = request.session.get(CREATED_KEY)
        if created and time.time() - created["at"] < CREATED_SECONDS:
            template = EmailTemplate.objects.filter(pk=created["pk"]).first()
            if template is not None:
                edit_url = reverse(email_template_viewset.get_url_name("edit"), args=[template.pk])
                return HttpResponseRedirect(edit_url, status=307)
        return super().post(request, *args, **kwargs)

    def save_action(self):
        if self.expects_json_response:
            self.request.session[CREATED_KEY] = {"pk": self.object.pk, "at": time.time()}
        return super().save_action()


class EmailTemplateEditView(PlaceholderMenuMixin, EditView):
    def get(self, request, *args, **kwargs):
        if request.GET.get("_w_hydrate_create_view"):
            # The create form is now this template's edit form.
            request.session.pop(CREATED_KEY, None)
        remember_review(request, self.object.pk)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Workflows still sending: they send the revision they froze, not these edits.
        context["sending_workflows"] = list(
            EmailWorkflow.objects.filter(
                steps__template=self.object,
                status__in=[EmailWorkflow.Status.ACTIVE, EmailWorkflow.Status.LOCKED],
            )
            .distinct()
            .order_by("title")
        )
        return context


class EmailTemplateViewSet(SnippetViewSet):
    """Email templates: revisions, draft/publish and live preview (HTML and plain text)."""

    model = EmailTemplate
    chooser_viewset_class = EmailTemplateChooserViewSet
    add_view_class = EmailTemplateCreateView
    create_template_name = "wagtail_mailflow/admin/templates/create.html"
    edit_template_name = "wagtail_mailflow/admin/templates/edit.html"
    edit_view_class = EmailTemplateEditView
    icon = "doc-full"
    menu_label = _("Email templates")
    url_prefix = "mailflow/templates"
    add_to_admin_menu = False
    search_fields = ["name", "subject"]
    # The database's own "contains" search: partial words match, whatever the search backend
    # (the SQLite full-text backend rejects per-field searches of a snippet: "no such column").
    search_backend_name = None
    # Lazy labels: Wagtail's own defaults are translated once, at import, in English.
    list_display = [
        "name",
        "subject",
        LiveStatusTagColumn(label=_("Status")),
        UpdatedAtColumn(label=_("Updated")),
    ]
    list_filter = ["live"]

    @property
    def breadcrumbs_items(self):
        # Home, then the templates, as under the package's menu (not Snippets); lazy, as
        # Wagtail's own are translated once, at import, in English.
        return [{"url": reverse_lazy("wagtailadmin_home"), "label": _("Home")}]


email_template_viewset = EmailTemplateViewSet()
