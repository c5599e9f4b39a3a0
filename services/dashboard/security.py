"""Response headers of every dashboard answer, and where a form post may come from.

The pages run no script at all (sorting and the month selector are links and forms), so
the CSP forbids scripts outright; styles come only from the dashboard's own stylesheet
and the charts are inline SVG with presentation attributes, which the CSP does not govern.

The referrer policy is ``same-origin``: no other site ever learns a dashboard address, and a
browser names the dashboard's own origin in the ``Origin`` of its form posts (under
``no-referrer`` it sends ``Origin: null``, which :func:`same_origin` refuses).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request, Response

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'none'",
        "font-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
PRIVATE = "no-store"
STATIC = "public, max-age=86400"


def secure(response: Response, *, cache: str = PRIVATE) -> Response:
    """Add the security headers (and a cache policy: pages are private, never stored)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    response.headers["Cache-Control"] = cache
    return response


def same_origin(request: Request) -> bool:
    """Whether a form post comes from the dashboard's own pages.

    ``Origin: null`` (a sandboxed frame, a data: URL, a redirect from elsewhere) and other
    sites are refused. Where the browser sends ``Sec-Fetch-Site`` it decides (it stays right
    behind a proxy that rewrites ``Host``); else ``Origin`` must name this host. A post with
    neither header is no browser's cross-site form (browsers send ``Origin`` on every post).
    """
    origin = request.headers.get("origin")
    if origin is not None and origin.strip().lower() == "null":
        return False
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() == "same-origin"
    if origin is None:
        return True
    return urlsplit(origin.strip()).netloc.lower() == request.url.netloc.lower()
