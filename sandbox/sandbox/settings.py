"""Settings of the sandbox site: a real Wagtail site that uses wagtail-mailflow.

Everything comes from the environment, with defaults that need nothing installed:

* ``DATABASE_URL``: ``postgres://…`` or ``sqlite:///…``; default ``sandbox/db.sqlite3`` in WAL mode.
* ``REDIS_URL``: when set, django-q2 uses Redis as its broker; otherwise the database (ORM broker).
* ``EMAIL_BACKEND``: default writes every email as a file into ``sandbox/outbox/``
  (``EMAIL_FILE_PATH`` changes the folder), so demo emails can be read without an ESP.
* ``PORT``: the port the site is served on (used for absolute links in emails).
"""

import os
from pathlib import Path

from wagtail_mailflow.settings_helpers import database_from_url, q_cluster

BASE_DIR = Path(__file__).resolve().parent.parent  # the sandbox/ folder

SECRET_KEY = os.environ.get("SECRET_KEY", "sandbox-only-insecure-secret-key")
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = ["*"]
PORT = int(os.environ.get("PORT", "8000"))

INSTALLED_APPS = [
    "home",
    "wagtail_mailflow",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "anymail",
    "django_q",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "sandbox.urls"
WSGI_APPLICATION = "sandbox.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "sandbox" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"), BASE_DIR / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The task queue: Redis when REDIS_URL is set, else the database (nothing to install).
Q_CLUSTER = q_cluster(os.environ.get("REDIS_URL"), name="mailflow-sandbox")

AUTH_PASSWORD_VALIDATORS = []  # a local sandbox with an admin/admin login

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "French")]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "media"

# Email: by default every message is written to sandbox/outbox/ as a .log file.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "outbox"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Mailflow sandbox <hello@example.com>")

# django-anymail: only needed when EMAIL_BACKEND is an anymail ESP backend, e.g.
# EMAIL_BACKEND=anymail.backends.mailjet.EmailBackend with MAILJET_API_KEY / MAILJET_SECRET_KEY.
ANYMAIL = {
    key: os.environ[env]
    for key, env in [
        ("MAILJET_API_KEY", "MAILJET_API_KEY"),
        ("MAILJET_SECRET_KEY", "MAILJET_SECRET_KEY"),
        ("WEBHOOK_SECRET", "ANYMAIL_WEBHOOK_SECRET"),
    ]
    if os.environ.get(env)
}

WAGTAIL_SITE_NAME = "Mailflow sandbox"
WAGTAILADMIN_BASE_URL = os.environ.get("BASE_URL", f"http://127.0.0.1:{PORT}")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "key", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]

WAGTAIL_MAILFLOW_FROM_EMAIL = DEFAULT_FROM_EMAIL
WAGTAIL_MAILFLOW_POSTAL_ADDRESS = "Mailflow sandbox, 1 rue de l'Exemple, 75000 Paris, France"
