"""Where the webhook dispatcher may post: never into the platform's own network (SSRF).

A subscription's URL is refused (422) when its host is, or resolves to, an address that is
not globally routable: loopback, private (RFC 1918, ULA), link-local (cloud metadata at
169.254.169.254), carrier-grade NAT, reserved, unspecified or multicast. A host that does
not resolve at subscription time is accepted (delivery retries it). Every delivery resolves
the host again and connects only to an address it has just checked, so a name that later
resolves inward (DNS rebinding) is refused too; environment proxies are not used, since a
proxy would resolve the host itself. ``LUMBUNG_WEBHOOK_PRIVATE_TARGETS=true`` lifts the
rule for deployments whose extension systems live on the same private network.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit


class TargetRefused(OSError):
    """The host is or resolves to an address the dispatcher must not post to."""


def address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def vetted(host: str, port: int) -> list[Any]:
    """``getaddrinfo`` of the host, if every address it gives is allowed."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    refused = sorted({str(info[4][0]) for info in infos if not address_allowed(str(info[4][0]))})
    if refused:
        raise TargetRefused(f"{host} is a private or reserved address ({', '.join(refused)})")
    return infos


def refusal(url: str) -> str | None:
    """Why a subscription may not use ``url``, or None."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        vetted(parts.hostname or "", port)
    except TargetRefused as exc:
        return str(exc)
    except OSError:
        return None  # not resolvable now: delivery tries again (and checks again)
    return None


def _connect(host: str, port: int, timeout: Any) -> socket.socket:
    last: OSError | None = None
    for family, kind, proto, _, address in vetted(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"no address for {host}")


class _HTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = _connect(self.host, self.port, self.timeout)


class _HTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = _connect(self.host, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_HTTPConnection, req)


class GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_HTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]
