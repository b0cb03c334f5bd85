from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls

from wagtail_mailflow.urls import anymail_urls

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("anymail/", include(anymail_urls)),
    path("mailflow/", include("wagtail_mailflow.urls")),
    path("", include(wagtail_urls)),
]
