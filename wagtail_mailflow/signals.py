"""Signals a site can connect to, sent where the thing happens.

Every signal is sent once per occurrence (a repeated call that changes nothing
sends nothing) and inside the transaction that made the change: a receiver that
talks to the outside world (a CRM, a queue) should defer with
``transaction.on_commit``. Sets of contacts or deliveries are passed as lists of
ids, so a bulk operation sends one signal, not one per row.
"""

from django.dispatch import Signal

#: A contact joined a list, came back to it after leaving, or confirmed it (double opt-in).
#: Sent with ``sender=ListMembership`` and ``membership`` (the membership, its
#: ``contact`` and ``contact_list`` loaded).
contact_subscribed = Signal()

#: A contact unsubscribed from one list or from all email.
#: Sent with ``sender=Contact``, ``contact_id``, ``contact_list_id`` (None: from
#: everything) and ``source`` (``"link"``, ``"api"``, ``"esp:<name>"``, …).
contact_unsubscribed = Signal()

#: Addresses were suppressed: nothing is ever sent to them again.
#: Sent with ``sender=Contact``, ``contact_ids`` (the newly suppressed ones only)
#: and ``reason`` (a ``Contact.SuppressionReason``).
contact_suppressed = Signal()

#: Contacts entered a workflow (their first email is scheduled).
#: Sent with ``sender=EmailWorkflow``, ``workflow`` and ``contact_ids``; a bulk entry
#: (scans, imports) sends one signal per chunk of contacts.
workflow_entered = Signal()

#: The ESP accepted emails of a batch.
#: Sent once per batch with ``sender=Delivery`` and ``delivery_ids``.
email_sent = Signal()

#: The ESP reported something new about an email (a retried webhook sends nothing).
#: Sent with ``sender=DeliveryEvent``, ``event`` (the recorded ``DeliveryEvent``)
#: and ``delivery`` (the ``Delivery`` it is about, or None when it is unknown).
event_recorded = Signal()

#: Deliveries became due now: workers should be woken. The package's own receiver
#: queues the dispatch task once the transaction commits (one per transaction, or
#: one per batch up to the cluster's workers when many emails fell due at once).
#: Sent with ``sender=EmailWorkflow``, ``workflow`` and, from a bulk entry,
#: ``count`` (how many emails fell due; one when absent).
deliveries_due = Signal()

#: A contact import was queued to run in the background (files above
#: ``WAGTAIL_MAILFLOW_IMPORT_ASYNC_BYTES``). The package's own receiver queues
#: the import task once the transaction commits.
#: Sent with ``sender=ContactImport`` and ``import_id``.
import_queued = Signal()
