"""Importing contacts from a CSV file: upload, map the columns, preview, import, result.

Each step works on a :class:`~wagtail_mailflow.models.ContactImport`, which keeps
the uploaded file in the default storage between steps. The import itself is
:mod:`wagtail_mailflow.contact_import`: run in the request for a small file, in a
django-q2 task for a big one (``WAGTAIL_MAILFLOW_IMPORT_ASYNC_BYTES``).
Importing needs the permissions to add and to change contacts.
"""

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic import IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permission_policies import ModelPermissionPolicy

from .. import conf
from .. import contact_import as service
from ..models import Contact, ContactImport, ContactList, ContactProperty
from .titles import TranslatedTitleMixin

contact_permission_policy = ModelPermissionPolicy(Contact)

#: How many rows the preview shows, and how many sample values a mapping field shows.
PREVIEW_ROWS = 20
SAMPLE_VALUES = 3


def can_import(user):
    """Importing adds contacts and changes existing ones: both permissions are needed."""
    return contact_permission_policy.user_has_permission(
        user, "add"
    ) and contact_permission_policy.user_has_permission(user, "change")


# -- forms ------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "The first line names the columns. Columns separated by commas, semicolons or tabs."
        ),
    )
    contact_list = forms.ModelChoiceField(
        label=gettext_lazy("Import into the list"),
        queryset=ContactList.objects.all(),
        empty_label=None,
    )
    encoding = forms.ChoiceField(
        label=gettext_lazy("Encoding"),
        choices=ContactImport.Encoding.choices,
        initial=ContactImport.Encoding.UTF8,
        help_text=gettext_lazy("Spreadsheets saved as “CSV UTF-8” use UTF-8."),
    )
    confirmed = forms.BooleanField(
        label=gettext_lazy("These contacts have confirmed their subscription"),
        required=False,
        help_text=gettext_lazy(
            "For double opt-in lists: count the imported memberships as confirmed. "
            "Leave unticked otherwise."
        ),
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        limit = conf.get("IMPORT_MAX_BYTES")
        if limit and uploaded.size > limit:
            raise ValidationError(
                _("The file is %(size)s; the largest file accepted is %(limit)s.")
                % {"size": filesizeformat(uploaded.size), "limit": filesizeformat(limit)}
            )
        return uploaded


class MappingForm(forms.Form):
    """One choice per column of the file: a contact field, a property, or ignore."""

    def __init__(self, *args, job, samples, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        self.definitions = {p.name: p for p in definitions}
        choices = service.target_choices(definitions)
        for index, header in enumerate(job.headers):
            values = [row[index] for row in samples if index < len(row) and row[index].strip()]
            field = forms.ChoiceField(
                label=header,
                choices=choices,
                required=False,
                initial=job.mapping[index] if index < len(job.mapping) else "",
                help_text=(
                    _("For example: %(values)s") % {"values": ", ".join(values[:SAMPLE_VALUES])}
                    if values
                    else _("No values in the first rows.")
                ),
            )
            field.error_messages["invalid_choice"] = _("Choose a field from the list.")
            self.fields[f"column_{index}"] = field

    def clean(self):
        cleaned = super().clean()
        mapping = [cleaned.get(f"column_{i}") or "" for i in range(len(self.job.headers))]
        if not self.errors:
            service.validate_mapping(mapping, self.job.headers, self.definitions)
        cleaned["mapping"] = mapping
        return cleaned


# -- views ------------------------------------------------------------------------


class ImportView(TranslatedTitleMixin, WagtailAdminTemplateMixin, TemplateView):
    """Base of the import pages: the permission, the job, the breadcrumbs."""

    header_icon = "upload"
    page_title = gettext_lazy("Import contacts")
    step_title = ""
    http_method_names = ["get"]

    def dispatch(self, request, *args, **kwargs):
        if not can_import(request.user):
            raise PermissionDenied
        self.job = None
        if "pk" in kwargs:
            self.job = get_object_or_404(
                ContactImport.objects.select_related("contact_list", "created_by"), pk=kwargs["pk"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.job.file_name if self.job else ""

    def get_breadcrumbs_items(self):
        items = [*self.breadcrumbs_items]
        items.append({"url": reverse("mailflow_imports:index"), "label": _("Contact imports")})
        if self.job:
            items.append({"url": "", "label": self.job.file_name})
        if self.step_title:
            items.append({"url": "", "label": self.step_title})
        return items

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["job"] = self.job
        return context

    def draft_or_result(self):
        """Steps before the import only make sense for a draft: otherwise show the result."""
        if self.job.status != ContactImport.Status.DRAFT:
            return redirect("mailflow_imports:result", self.job.pk)
        return None


class ImportIndexView(ImportView):
    """The imports made so far, newest first, and a button to start one."""

    template_name = "wagtail_mailflow/admin/imports/index.html"

    @property
    def header_buttons(self):
        return [
            HeaderButton(
                _("Import a CSV file"), url=reverse("mailflow_imports:upload"), icon_name="upload"
            )
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["imports"] = ContactImport.objects.select_related(
            "contact_list", "created_by"
        ).exclude(status=ContactImport.Status.DRAFT)[:50]
        return context


class UploadView(ImportView):
    template_name = "wagtail_mailflow/admin/imports/upload.html"
    step_title = gettext_lazy("Upload")
    http_method_names = ["get", "post"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "form" not in context:
            initial = {}
            list_id = self.request.GET.get("list")
            if list_id and list_id.isdigit():
                initial["contact_list"] = list_id
            context["form"] = UploadForm(initial=initial)
        context["max_size"] = conf.get("IMPORT_MAX_BYTES")
        context["has_lists"] = ContactList.objects.exists()
        return context

    def post(self, request, *args, **kwargs):
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = service.create_job(
                    form.cleaned_data["file"],
                    contact_list=form.cleaned_data["contact_list"],
                    encoding=form.cleaned_data["encoding"],
                    confirmed=form.cleaned_data["confirmed"],
                    user=request.user,
                )
            except service.ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("mailflow_imports:mapping", job.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class MappingView(ImportView):
    template_name = "wagtail_mailflow/admin/imports/mapping.html"
    step_title = gettext_lazy("Columns")
    http_method_names = ["get", "post"]

    def get_form(self, data=None):
        samples = []
        with self.job.file.open("rb") as binary:
            for _number, cells in service.read_rows(binary, self.job.encoding, self.job.delimiter):
                samples.append(cells)
                if len(samples) >= 5:
                    break
        return MappingForm(
            data, job=self.job, samples=samples, definitions=list(ContactProperty.objects.all())
        )

    def get(self, request, *args, **kwargs):
        if response := self.draft_or_result():
            return response
        return self.render_to_response(self.get_context_data(form=self.get_form()))

    def post(self, request, *args, **kwargs):
        if response := self.draft_or_result():
            return response
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        self.job.mapping = form.cleaned_data["mapping"]
        self.job.save(update_fields=["mapping"])
        return redirect("mailflow_imports:preview", self.job.pk)


class PreviewView(ImportView):
    template_name = "wagtail_mailflow/admin/imports/preview.html"
    step_title = gettext_lazy("Preview")
    http_method_names = ["get", "post"]

    def mapping_problem(self):
        definitions = {p.name: p for p in ContactProperty.objects.all()}
        try:
            service.validate_mapping(self.job.mapping, self.job.headers, definitions)
        except ValidationError as exc:
            return " ".join(exc.messages)
        return None

    def get(self, request, *args, **kwargs):
        if response := self.draft_or_result():
            return response
        if problem := self.mapping_problem():
            messages.error(request, problem)
            return redirect("mailflow_imports:mapping", self.job.pk)
        try:
            with self.job.file.open("rb") as binary:
                rows = service.preview(
                    binary,
                    encoding=self.job.encoding,
                    delimiter=self.job.delimiter,
                    headers=self.job.headers,
                    mapping=self.job.mapping,
                    contact_list=self.job.contact_list,
                    limit=PREVIEW_ROWS,
                )
        except service.ImportFileError as exc:
            messages.error(request, str(exc))
            rows = []
        columns = [
            (target, header)
            for header, target in zip(self.job.headers, self.job.mapping, strict=True)
            if target
        ]
        table = []
        for row in rows:
            record = row["record"]
            values = []
            for target, _header in columns:
                if target == "email":
                    values.append(record.email)
                elif target.startswith(service.PROPERTY_PREFIX):
                    values.append(record.properties.get(target[len(service.PROPERTY_PREFIX) :]))
                else:
                    values.append(record.fields.get(target))
            table.append({**row, "values": values})
        context = self.get_context_data(
            columns=[header for _target, header in columns],
            rows=table,
            asynchronous=self.is_asynchronous(),
        )
        return self.render_to_response(context)

    def is_asynchronous(self):
        threshold = conf.get("IMPORT_ASYNC_BYTES")
        return threshold is not None and self.job.file_size >= threshold

    def post(self, request, *args, **kwargs):
        if response := self.draft_or_result():
            return response
        if problem := self.mapping_problem():
            messages.error(request, problem)
            return redirect("mailflow_imports:mapping", self.job.pk)
        job = service.start_job(self.job)
        if job.status == ContactImport.Status.DONE:
            messages.success(
                request,
                _("%(file)s imported into %(list)s.")
                % {"file": job.file_name, "list": job.contact_list},
            )
        elif job.status == ContactImport.Status.FAILED:
            messages.error(request, job.error_message)
        return redirect("mailflow_imports:result", job.pk)


class ResultView(ImportView):
    template_name = "wagtail_mailflow/admin/imports/result.html"

    def get(self, request, *args, **kwargs):
        if self.job.status == ContactImport.Status.DRAFT:
            return redirect("mailflow_imports:mapping", self.job.pk)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.job
        context["progress"] = (
            cache.get(service.progress_key(job.pk))
            if job.status == ContactImport.Status.RUNNING
            else None
        )
        context["figures"] = [
            (_("Rows read"), job.rows_total),
            (_("New contacts"), job.created_count),
            (_("Existing contacts updated"), job.updated_count),
            (_("Existing contacts unchanged"), job.unchanged_count),
            (_("New members of the list"), job.joined_count),
            (_("Rows skipped (unsubscribed contacts)"), job.skipped_count),
            (_("Rows with errors (not imported)"), job.invalid_count),
        ]
        return context


class ProblemsDownloadView(ImportView):
    """The problems of an import as a CSV file (row, email, column, problem)."""

    def get(self, request, *args, **kwargs):
        if not self.job.errors_file:
            raise Http404(_("This import found no problems."))
        return FileResponse(
            self.job.errors_file.open("rb"),
            as_attachment=True,
            filename=self.job.errors_file.name.rsplit("/", 1)[-1],
            content_type="text/csv; charset=utf-8",
        )


# -- registration -------------------------------------------------------------------


class ImportMenuItem(MenuItem):
    def is_shown(self, request):
        return can_import(request.user)


class ContactImportViewSet(ViewSet):
    """The "Imports" item of the Mail automation menu and its pages."""

    icon = "upload"
    menu_label = gettext_lazy("Imports")
    url_prefix = "mailflow/imports"
    menu_item_class = ImportMenuItem

    def get_urlpatterns(self):
        return [
            path("", ImportIndexView.as_view(), name="index"),
            path("new/", UploadView.as_view(), name="upload"),
            path("<int:pk>/columns/", MappingView.as_view(), name="mapping"),
            path("<int:pk>/preview/", PreviewView.as_view(), name="preview"),
            path("<int:pk>/", ResultView.as_view(), name="result"),
            path("<int:pk>/problems.csv", ProblemsDownloadView.as_view(), name="problems"),
        ]


contact_import_viewset = ContactImportViewSet("mailflow_imports")


class ImportButtonIndexView(IndexView):
    """A listing (contacts, lists) with an "Import from CSV" button for those allowed to."""

    @property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if can_import(self.request.user):
            buttons.append(
                HeaderButton(
                    _("Import from CSV"),
                    url=reverse("mailflow_imports:upload"),
                    icon_name="upload",
                    priority=20,
                )
            )
        return buttons
