"""Moving enrollments on after an email: the next delivery due from now, or completion.

Deliveries finished together move on together: one INSERT … SELECT per next
step and one UPDATE for the completed enrollments, whatever the batch size.
"""

import datetime

from django.db import connection

from ..models import Delivery, Enrollment
from .steps import StepCache
from .timing import due_time

S = Delivery.Status


def _insert_next(finished_ids, step, due, now):
    """INSERT … SELECT the next delivery of ``step`` for the enrollments of these deliveries."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    placeholders = ", ".join(["%s"] * len(finished_ids))
    sql = (
        f"INSERT INTO {table} (enrollment_id, step_id, workflow_id, contact_id, status, due_at, "
        f"claim_token, attempts, last_error, esp_message_id, created_at) "
        f"SELECT enrollment_id, %s, workflow_id, contact_id, %s, %s, '', 0, '', '', %s "
        f"FROM {table} WHERE id IN ({placeholders}) "
        f"ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [step.pk, S.SCHEDULED, due, now, *finished_ids])


def advance(finished: list, now: datetime.datetime, steps: StepCache) -> bool:
    """Schedule each finished delivery's next email (due from now), or complete its enrollment.

    Returns whether one of the new deliveries is already due.
    """
    if not finished:
        return False
    steps.load({d.workflow_id: d.workflow for d in finished}.values())
    # Deliveries finished together move on together: one INSERT … SELECT per next step.
    following, completed, due_now = {}, [], False
    for delivery in finished:
        nxt = steps.next_step(delivery.step)
        if nxt is None:
            completed.append(delivery.enrollment_id)
        else:
            following.setdefault(nxt.pk, (nxt, delivery.workflow, []))[2].append(delivery.pk)
    for nxt, workflow, finished_ids in following.values():
        due = due_time(now, nxt, workflow, steps.period(workflow))
        due_now = due_now or due <= now
        _insert_next(finished_ids, nxt, due, now)
    if completed:
        Enrollment.objects.filter(pk__in=completed, status=Enrollment.Status.ACTIVE).update(
            status=Enrollment.Status.COMPLETED, ended_at=now
        )
    return due_now
