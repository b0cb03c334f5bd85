"""Public URLs; sites add ``path("mailflow/", include("wagtail_mailflow.urls"))``."""

from django.urls import path

from . import views

app_name = "wagtail_mailflow"

urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
