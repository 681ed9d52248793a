"""A web server on 127.0.0.1 for the fetching tests: fixed routes, started and stopped per test."""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WEB = Path(__file__).resolve().parent / "fixtures" / "web"


class Route:
    def __init__(self, body: bytes = b"", content_type: str = "text/html; charset=utf-8",
                 status: int = 200, headers: dict | None = None, delay: float = 0.0):
        self.body, self.content_type, self.status = body, content_type, status
        self.headers, self.delay = headers or {}, delay


class LoopbackServer:
    """``routes`` maps a path to a Route; every request's headers are kept in ``requests``."""

    def __init__(self, routes: dict[str, Route], tls: ssl.SSLContext | None = None):
        self.routes = routes
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server name)
                server.requests.append({"path": self.path, **dict(self.headers)})
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                time.sleep(route.delay)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(route.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.base = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by nobody (openssl); (cert, key) files."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def page(name: str) -> bytes:
    return (WEB / name).read_bytes()


def site_routes() -> dict[str, Route]:
    """The fixture pages where the feed and CSV fixtures link to them."""
    return {"/world/zelensky-nato-timeline": Route(page("nav_ads.html")),
            "/eastern/lavrov": Route(page("comments.html")),
            "/copyright-only": Route(page("copyright_only.html"))}


def linked_fixture(name: str, server: LoopbackServer, directory: Path) -> Path:
    """A copy of fixture ``name`` whose ``{base}`` links point at ``server``."""
    target = directory / name
    target.write_text((WEB / name).read_text(encoding="utf-8").replace("{base}", server.base),
                      encoding="utf-8")
    return target


@contextlib.contextmanager
def site():
    """The fixture site served on loopback (pages and the files that link to them)."""
    with LoopbackServer(site_routes()) as server:
        yield server


def read_split(path: Path, **options) -> tuple[dict, dict]:
    """``read_inputs`` on one input: the articles by id, and the skipped inputs' reasons by id."""
    from stance.articles import Article, ReadOptions, Skipped, read_inputs

    items = list(read_inputs([str(path)], options=ReadOptions(**options)))
    return ({a.id: a for a in items if isinstance(a, Article)},
            {s.id: s.reason for s in items if isinstance(s, Skipped)})
