"""Public URLs; sites add ``path("mailflow/", include("wagtail_mailflow.urls"))``.

And, for the ESPs' webhooks, anymail's URLs with each view answering 400 to a body it
cannot read (see :mod:`wagtail_mailflow.views.webhooks`)::

    from wagtail_mailflow.urls import anymail_urls

    path("anymail/", include(anymail_urls)),  # instead of include("anymail.urls")
"""

from anymail import urls as anymail_urlconf
from django.urls import URLPattern, path

from .views.confirm import confirm_view
from .views.subscribe import subscribe_view
from .views.unsubscribe import unsubscribe
from .views.webhooks import guarded

app_name = "wagtail_mailflow"

urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe, name="unsubscribe"),
    path("subscribe/<str:list_ref>/", subscribe_view, name="subscribe"),
    path("confirm/<str:token>/", confirm_view, name="confirm"),
]

#: anymail's URL patterns (same paths, same "anymail:" names) with guarded views.
anymail_urls = (
    [
        URLPattern(p.pattern, guarded(p.callback), p.default_args, p.name)
        for p in anymail_urlconf.urlpatterns
    ],
    anymail_urlconf.app_name,
)
