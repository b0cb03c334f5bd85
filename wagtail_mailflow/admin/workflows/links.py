"""The URL names of the workflow viewset: every workflow screen lives in its namespace."""

from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.text import capfirst

from ...models import EmailWorkflow

#: The viewset's name, hence its URL namespace.
NAMESPACE = "mailflow_workflows"


def url_name(name: str) -> str:
    """The full URL name of one of the workflow viewset's views."""
    return f"{NAMESPACE}:{name}"


def workflow_url(name: str, workflow) -> str:
    """The URL of the view ``name`` (edit, inspect, statistics, …) for ``workflow``."""
    return reverse(url_name(name), args=[quote(workflow.pk)])


def index_url() -> str:
    """The workflow listing."""
    return reverse(url_name("index"))


def index_breadcrumb() -> dict:
    """The listing's breadcrumb item, named as Wagtail's own workflow screens name it."""
    return {"url": index_url(), "label": capfirst(EmailWorkflow._meta.verbose_name_plural)}
