"""Public URLs; sites add ``path("mailflow/", include("wagtail_mailflow.urls"))``."""

from django.urls import path

from . import subscribe_views, views

app_name = "wagtail_mailflow"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("subscribe/<str:list_ref>/", subscribe_views.subscribe_view, name="subscribe"),
    path("confirm/<str:token>/", subscribe_views.confirm_view, name="confirm"),
]
