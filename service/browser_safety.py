"""What a web page may do with the service: which Host headers it answers and which origins may
call it cross-origin (CORS).

With no token set, any page the operator visits could POST to a service on localhost (CSRF), and a
DNS-rebinding page could read the answers. The service answers only Host headers on its allow-list
(by default the address it binds, plus the loopback names; any host when it binds every address,
as in a container), accepts only ``application/json`` POST bodies (service.middleware; a browser
cannot send those cross-origin without a CORS preflight), and grants CORS to no origin unless
configured.

- ``$STANCE_ALLOWED_HOSTS``: comma-separated host names or addresses (``*.example.org``, ``*``).
- ``$STANCE_BIND_HOST``: the address ``stance serve`` binds (set by the CLI).
- ``$STANCE_CORS_ORIGINS``: comma-separated origins allowed to call the API from a browser.
"""

from __future__ import annotations

import os

ALLOWED_HOSTS_ENV = "STANCE_ALLOWED_HOSTS"
BIND_HOST_ENV = "STANCE_BIND_HOST"
CORS_ORIGINS_ENV = "STANCE_CORS_ORIGINS"
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")
WILDCARD_BINDS = {"0.0.0.0", "::", "[::]", ""}


def _listed(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def allowed_hosts() -> list[str]:
    listed = _listed(ALLOWED_HOSTS_ENV)
    if listed:
        return listed
    bound = os.environ.get(BIND_HOST_ENV)
    if bound is not None and bound.strip() in WILDCARD_BINDS:
        return ["*"]
    return list(dict.fromkeys([*LOOPBACK, *([bound.strip()] if bound else [])]))


def cors_options() -> dict | None:
    """Options for starlette's CORSMiddleware, or None (no cross-origin access) when unset."""
    origins = _listed(CORS_ORIGINS_ENV)
    if not origins:
        return None
    return {"allow_origins": origins, "allow_methods": ["GET", "POST"],
            "allow_headers": ["Authorization", "Content-Type"], "max_age": 600}
