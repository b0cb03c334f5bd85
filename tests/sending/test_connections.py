"""Opening an anymail connection reads the environment's proxies and CA bundle once."""

import requests
from django.core.mail import get_connection

from wagtail_mailflow.sending.batch import open_connection

POSTMARK = "anymail.backends.postmark.EmailBackend"


def _postmark(settings, url="https://api.postmark.example/"):
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", "POSTMARK_API_URL": url}
    connection = get_connection(POSTMARK)
    assert open_connection(connection) is None
    return connection


def test_the_environments_proxy_and_ca_bundle_are_read_once_at_open(settings, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/site-ca.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = _postmark(settings).session
    assert session.trust_env is False
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.verify == "/etc/ssl/certs/site-ca.pem"
    # The request made over it goes through the proxy read at open.
    prepared = session.prepare_request(requests.Request("POST", "https://api.postmark.example/x"))
    merged = session.merge_environment_settings(prepared.url, {}, None, None, None)
    assert merged["proxies"]["https"] == "http://proxy.example:3128"


def test_no_proxy_for_the_esps_host_is_kept(settings, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "api.postmark.example")
    session = _postmark(settings).session
    assert session.trust_env is False
    assert "https" not in session.proxies


def test_a_netrc_entry_for_the_esp_leaves_the_session_reading_the_environment(
    settings, monkeypatch, tmp_path
):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.postmark.example login user password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    session = _postmark(settings).session
    assert session.trust_env is True
