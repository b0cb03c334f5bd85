"""Building one marketing message: parts, RFC 8058 headers, and metadata for webhooks."""

from django.core.mail import EmailMultiAlternatives

#: Metadata key carrying the delivery id; tracking webhooks use it to find the delivery.
DELIVERY_METADATA_KEY = "mailflow_delivery"
WORKFLOW_METADATA_KEY = "mailflow_workflow"


def build_message(rendered, *, to, delivery_id, workflow_id, unsubscribe_url, connection=None):
    """An EmailMultiAlternatives for one rendered email to one recipient.

    Every message carries ``List-Unsubscribe`` (https, for one-click POST) and
    ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), and
    anymail metadata and tags that tie ESP events back to its delivery.
    Backends that are not anymail ignore the metadata and tags.
    """
    headers = {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=rendered.from_email or None,
        to=[to],
        reply_to=[rendered.reply_to] if rendered.reply_to else None,
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(rendered.html, "text/html")
    message.metadata = {
        DELIVERY_METADATA_KEY: str(delivery_id),
        WORKFLOW_METADATA_KEY: str(workflow_id),
    }
    # One tag: Postmark and Mailjet take only one (anymail refuses a second).
    message.tags = [f"mailflow-workflow-{workflow_id}"]
    return message
