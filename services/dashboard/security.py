"""Response headers of every dashboard answer.

The pages run no script at all (sorting and the month selector are links and forms), so
the CSP forbids scripts outright; styles come only from the dashboard's own stylesheet
and the charts are inline SVG with presentation attributes, which the CSP does not govern.
"""

from __future__ import annotations

from fastapi import Response

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
    "Referrer-Policy": "no-referrer",
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
