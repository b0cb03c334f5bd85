"""Public URLs; sites add ``path("mailflow/", include("wagtail_mailflow.urls"))``."""

from django.urls import path

from .views.confirm import confirm_view
from .views.subscribe import subscribe_view
from .views.unsubscribe import unsubscribe

app_name = "wagtail_mailflow"

urlpatterns = [
    path("unsubscribe/<str:token>/", unsubscribe, name="unsubscribe"),
    path("subscribe/<str:list_ref>/", subscribe_view, name="subscribe"),
    path("confirm/<str:token>/", confirm_view, name="confirm"),
]
