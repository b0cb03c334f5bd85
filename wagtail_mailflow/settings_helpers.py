"""Optional helpers for a site's settings: a database from a URL, a safe Q_CLUSTER.

Nothing in the package imports this module; sites (and the sandbox) may.
"""

from urllib.parse import parse_qsl, unquote, urlparse


def database_from_url(url, sqlite_path="db.sqlite3"):
    """A DATABASES entry for ``postgres://`` or ``sqlite:///`` URLs (SQLite in WAL mode by default).

    SQLite gets the options that keep django-q2's ORM broker and the web
    process from tripping over each other: a 20 s busy timeout, IMMEDIATE
    transactions and WAL journaling.
    """
    if not url:
        return _sqlite(str(sqlite_path))
    parsed = urlparse(url)
    scheme = parsed.scheme.split("+")[0]
    if scheme == "sqlite":
        # sqlite:///relative.db or sqlite:////absolute/path.db
        path = unquote(url.split(":///", 1)[1]) if ":///" in url else ""
        return _sqlite(path or str(sqlite_path))
    if scheme in ("postgres", "postgresql", "pgsql"):
        options = dict(parse_qsl(parsed.query))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": int(options.pop("conn_max_age", 60)),
            "OPTIONS": options,
        }
    raise ValueError(
        f"Unsupported DATABASE_URL scheme {parsed.scheme!r} (use postgres:// or sqlite:///)"
    )


def _sqlite(path):
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def q_cluster(redis_url=None, *, name="mailflow", workers=2, timeout=120, **overrides):
    """A Q_CLUSTER that passes the package's checks: Redis when a URL is given, else the ORM broker.

    ``retry`` is kept above ``timeout`` + 3 s so a running task is never handed
    to a second worker, failures are acknowledged, attempts are capped, missed
    schedule slots are not replayed, and ``save_limit`` 0 keeps the monitor
    from deleting results under SQLite's single writer.
    """
    config = {
        "name": name,
        "workers": workers,
        "timeout": timeout,
        "retry": timeout + 30,
        "max_attempts": 3,
        "ack_failures": True,
        "catch_up": False,
        "save_limit": 0,
        "queue_limit": 50,
        "label": "Task queue",
    }
    if redis_url:
        config["redis"] = redis_url
    else:
        config["orm"] = "default"
    config.update(overrides)
    return config
