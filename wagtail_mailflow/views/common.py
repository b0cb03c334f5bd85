"""What the public pages share: no login, no caching of token URLs, masked addresses."""

from django.http import HttpResponse

try:
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # Django < 5.1 has no LoginRequiredMiddleware
    login_not_required = lambda view: view  # noqa: E731

__all__ = ["login_not_required", "mask_email", "private"]


def mask_email(email: str) -> str:
    """``jane.doe@example.com`` → ``j•••@example.com``: enough to recognise, not to harvest."""
    local, at, domain = (email or "").rpartition("@")
    if not at:
        return "•••"
    return f"{local[:1]}•••@{domain}"


def private(response: HttpResponse, *, token_url: bool = False) -> HttpResponse:
    """Keep a public page out of caches, search engines and, with a token URL, referrers."""
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex, nofollow"
    if token_url:
        response["Referrer-Policy"] = "no-referrer"
    return response
