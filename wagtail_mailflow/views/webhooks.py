"""anymail's webhook views, answering 400 to a body they cannot read.

anymail authenticates a webhook, parses its body, then sends one signal per event. A body
its parser cannot read (not JSON, a field missing or of the wrong type) raises from
inside the parser, which Django answers 500, and the ESP then retries the same body for
a day. :func:`guarded` makes each view answer 400 to that and log it, and only to that:
a failure while recording the events (the database, a receiver) still answers 500 so
that the ESP retries, and a request that fails authentication is anymail's 400 as before.
"""

import logging

from django.http import HttpResponseBadRequest

logger = logging.getLogger(__name__)


class MalformedWebhook(Exception):
    """anymail's parser could not read the body of an authenticated webhook."""


def guarded_class(view_class: type) -> type:
    """A subclass of an anymail webhook view class that answers 400 to a malformed body."""

    class Guarded(view_class):
        def parse_events(self, request):
            try:
                return super().parse_events(request)
            except Exception as exc:
                raise MalformedWebhook(f"{type(exc).__name__}: {exc}") from exc

        def post(self, request, *args, **kwargs):
            try:
                return super().post(request, *args, **kwargs)
            except MalformedWebhook as exc:
                logger.warning(
                    "%s webhook %s: malformed body answered 400 (%s)",
                    getattr(self, "esp_name", view_class.__name__),
                    request.path,
                    exc,
                )
                return HttpResponseBadRequest(
                    "Malformed webhook body.", content_type="text/plain; charset=utf-8"
                )

    Guarded.__name__ = Guarded.__qualname__ = view_class.__name__
    Guarded.__module__ = __name__
    return Guarded


def guarded(view):
    """The view function of ``view`` (an anymail ``as_view()``) answering 400 to a bad body."""
    view_class = getattr(view, "view_class", None)
    if view_class is None or not hasattr(view_class, "parse_events"):
        return view
    return guarded_class(view_class).as_view(**getattr(view, "view_initkwargs", {}))
