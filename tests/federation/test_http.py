"""The one door for outbound HTTP: answers of any status, errors that say whether a retry
can help, Retry-After in both forms, and no secret in a message."""

from datetime import datetime, timezone

import pytest

from appliance import http
from tests.conftest import free_port
from tests.federation.fakehub import FakeHub, Scripted


def test_an_answer_of_any_status_comes_back_with_its_headers_and_body(hub: FakeHub):
    hub.script.append(Scripted(503, {"status": "busy"}, {"Retry-After": "7"}))
    answer = http.post(hub.url + "/api/v1/reports", b"{}", {"X-Test": "1"}, timeout=2)
    assert answer.status == 503
    assert answer.json() == {"status": "busy"}
    assert answer.headers["retry-after"] == "7" and answer.retry_after() == 7.0
    path, headers, body = hub.received[-1]
    assert body == b"{}" and headers["X-Test"] == "1" and headers["User-Agent"].startswith("epn-appliance/")


def test_a_refused_connection_is_temporary_and_names_only_the_host():
    url = f"http://user:secret@127.0.0.1:{free_port()}/api/v1/enrol?token=hush"
    with pytest.raises(http.TransportError) as caught:
        http.post(url, b"{}", timeout=2)
    assert not caught.value.permanent
    message = str(caught.value)
    assert "127.0.0.1" in message and "hush" not in message and "secret" not in message
    assert "/api/v1" not in message


def test_a_hub_that_does_not_answer_in_time_is_a_temporary_error(hub: FakeHub):
    hub.script.append(Scripted("hang"))
    with pytest.raises(http.TransportError) as caught:
        http.post(hub.url + "/api/v1/reports", b"{}", timeout=0.5)
    assert not caught.value.permanent and "no answer within 0.5 s" in str(caught.value)


@pytest.mark.parametrize("url", ["not a url", "ftp://hub.example/x", "http://"])
def test_a_malformed_url_is_a_permanent_error(url):
    with pytest.raises(http.TransportError) as caught:
        http.post(url, b"{}", timeout=1)
    assert caught.value.permanent


def test_a_huge_answer_is_cut_not_kept_whole(hub: FakeHub):
    hub.script.append(Scripted(500, {"junk": "x" * (200 * 1024)}))
    answer = http.post(hub.url + "/api/v1/reports", b"{}", timeout=2)
    assert len(answer.body) == http.MAX_ANSWER_BYTES and answer.json() is None


NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("header, seconds", [
    ("120", 120.0),
    ("0", 0.0),
    ("Tue, 24 Nov 2026 12:05:00 GMT", 300.0),
    ("Tue, 24 Nov 2026 11:00:00 GMT", 0.0),  # a date in the past: no wait
    ("soon", None),
    ("-5", None),
    (None, None),
])
def test_retry_after_is_read_as_seconds_or_as_an_http_date(header, seconds):
    assert http.parse_retry_after(header, NOW) == seconds


def test_safe_url_keeps_scheme_host_and_port_only():
    assert http.safe_url("https://me:pw@hub.example.org:8443/a/b?token=x#f") == "https://hub.example.org:8443"
