"""A workflow's steps in order, and its sending period, loaded once per run of the dispatcher."""

from ..models import EmailWorkflow, WorkflowStep
from .timing import SendingPeriod


class StepCache:
    """Workflow steps in order, loaded once per workflow per run."""

    def __init__(self):
        self._steps = {}
        self._steps_by_pk = {}
        self._workflows = {}
        self._periods = {}

    def load(self, workflows):
        """Make sure the steps of these workflows are loaded (one query for the missing ones)."""
        missing = [w for w in workflows if w.pk not in self._steps]
        if missing:
            for workflow in missing:
                self._steps[workflow.pk] = []
                self._workflows[workflow.pk] = workflow
            for step in WorkflowStep.objects.filter(
                workflow_id__in=[w.pk for w in missing]
            ).order_by("workflow_id", "sort_order", "pk"):
                self._steps[step.workflow_id].append(step)
                self._steps_by_pk[step.pk] = step

    def attach(self, deliveries):
        """Give deliveries their workflow and step from this cache (loading only what is new).

        Active workflows and their steps cannot be edited, so one instance per run
        serves every batch instead of two more model instances built per row.
        """
        missing = {d.workflow_id for d in deliveries} - self._workflows.keys()
        if missing:
            self.load(EmailWorkflow.objects.filter(pk__in=missing))
        by_pk = self._steps_by_pk
        if any(d.step_id not in by_pk for d in deliveries):
            by_pk.update(
                WorkflowStep.objects.in_bulk({d.step_id for d in deliveries} - by_pk.keys())
            )
        for delivery in deliveries:
            delivery.workflow = self._workflows[delivery.workflow_id]
            delivery.step = by_pk[delivery.step_id]

    def next_step(self, step):
        """The step after ``step`` in its workflow, or None."""
        steps = self._steps[step.workflow_id]
        ids = [s.pk for s in steps]
        index = ids.index(step.pk) if step.pk in ids else len(ids)
        return steps[index + 1] if index + 1 < len(steps) else None

    def period(self, workflow):
        """The workflow's sending period (built once)."""
        period = self._periods.get(workflow.pk)
        if period is None:
            period = self._periods[workflow.pk] = SendingPeriod.for_workflow(workflow)
        return period
