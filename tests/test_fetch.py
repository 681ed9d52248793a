import shutil
import ssl

import pytest

from stance.fetch import MAX_REDIRECTS, USER_AGENT, FetchError, fetch
from tests.loopback import LoopbackServer, Route, page, self_signed_certificate


@pytest.fixture
def server():
    routes = {
        "/article": Route(page("nav_ads.html")),
        "/moved": Route(status=301, headers={"Location": "/article"}),
        "/loop": Route(status=302, headers={"Location": "/loop"}),
        # /hop/N redirects to /hop/N-1; /hop/0 is the article: /hop/N takes N redirects.
        **{f"/hop/{n}": Route(status=302, headers={"Location": f"/hop/{n - 1}"}) for n in range(1, 9)},
        "/hop/0": Route(page("nav_ads.html")),
        "/to-file": Route(status=302, headers={"Location": "file:///etc/passwd"}),
        "/report.pdf": Route(b"%PDF-1.7", content_type="application/pdf"),
        "/huge": Route(b"<html><body>" + b"x" * 4096 + b"</body></html>"),
        "/gone": Route(b"gone", status=410),
        "/slow": Route(b"<html></html>", delay=2.0),
    }
    with LoopbackServer(routes) as running:
        yield running


def test_a_page_is_fetched_with_a_descriptive_user_agent(server):
    fetched = fetch(server.url("/article"))
    assert fetched.body == page("nav_ads.html")
    assert fetched.content_type == "text/html" and fetched.charset == "utf-8"
    assert fetched.url == server.url("/article") and fetched.fetched_at.endswith("+00:00")
    assert server.requests[-1]["User-Agent"] == USER_AGENT and USER_AGENT.startswith("stance/")


def test_redirects_are_followed_within_a_bound_and_only_to_http(server):
    assert fetch(server.url("/moved")).url == server.url("/article")
    assert fetch(server.url(f"/hop/{MAX_REDIRECTS}")).url == server.url("/hop/0")
    with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
        fetch(server.url(f"/hop/{MAX_REDIRECTS + 1}"))
    assert server.requests[-1]["path"] == "/hop/1"  # the last redirect was not followed
    with pytest.raises(FetchError, match=f"more than {MAX_REDIRECTS} redirects"):
        fetch(server.url("/loop"))
    with pytest.raises(FetchError, match="only http and https"):
        fetch(server.url("/to-file"))


def test_limits_and_errors_give_reasons(server):
    with pytest.raises(FetchError, match="content type 'application/pdf'"):
        fetch(server.url("/report.pdf"))
    with pytest.raises(FetchError, match="larger than the 1,000-byte limit"):
        fetch(server.url("/huge"), max_bytes=1000)
    with pytest.raises(FetchError, match="HTTP 410"):
        fetch(server.url("/gone"))
    with pytest.raises(FetchError, match="timed out after 0.5 s"):
        fetch(server.url("/slow"), timeout=0.5)
    with pytest.raises(FetchError, match="only http and https"):
        fetch("ftp://127.0.0.1/file.txt")


def test_a_closed_port_is_a_connection_error():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="cannot connect"):
        fetch(f"http://127.0.0.1:{port}/", timeout=2)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_certificates_are_checked(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with LoopbackServer({"/article": Route(page("comments.html"))}, tls=tls) as server:
        with pytest.raises(FetchError, match="certificate check failed"):
            fetch(server.url("/article"), timeout=5)
        trusting = ssl.create_default_context(cafile=str(cert))
        assert fetch(server.url("/article"), timeout=5, context=trusting).body == page("comments.html")
