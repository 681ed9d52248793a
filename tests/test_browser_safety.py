from service.browser_safety import (
    ALLOWED_HOSTS_ENV,
    BIND_HOST_ENV,
    CORS_ORIGINS_ENV,
    allowed_hosts,
    cors_options,
)


def test_default_hosts_are_the_bound_address_and_loopback(monkeypatch):
    monkeypatch.delenv(ALLOWED_HOSTS_ENV, raising=False)
    monkeypatch.setenv(BIND_HOST_ENV, "10.1.2.3")
    assert set(allowed_hosts()) == {"10.1.2.3", "localhost", "127.0.0.1", "::1", "[::1]"}
    monkeypatch.delenv(BIND_HOST_ENV)
    assert "*" not in allowed_hosts() and "localhost" in allowed_hosts()


def test_binding_every_address_answers_any_host_unless_listed(monkeypatch):
    monkeypatch.setenv(BIND_HOST_ENV, "0.0.0.0")
    monkeypatch.delenv(ALLOWED_HOSTS_ENV, raising=False)
    assert allowed_hosts() == ["*"]
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "api.example, *.news.example")
    assert allowed_hosts() == ["api.example", "*.news.example"]


def test_cors_is_off_unless_origins_are_listed(monkeypatch):
    monkeypatch.delenv(CORS_ORIGINS_ENV, raising=False)
    assert cors_options() is None
    monkeypatch.setenv(CORS_ORIGINS_ENV, "https://a.example,https://b.example")
    assert cors_options()["allow_origins"] == ["https://a.example", "https://b.example"]
