"""The URL names of the workflow viewset: every workflow screen lives in its namespace."""

from django.contrib.admin.utils import quote
from django.urls import reverse

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
