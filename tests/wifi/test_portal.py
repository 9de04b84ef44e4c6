"""The captive portal's web side with the in-memory firewall: OS probes before and after
acceptance, the landing page in four languages, the RFC 8908 API, bad input, the flood
limit, the visitors' network kept away from staff pages, and the staff page."""

from __future__ import annotations

import json
import re

import pytest

from appliance.hardware.firewall import firewall_for
from appliance.models import WifiSession, WifiVoucher
from appliance.web.captive import PROBES
from appliance.wifi.vouchers import create_vouchers
from tests.conftest import csrf_token

PORTAL = "http://10.44.0.1:8080"
LANDING = PORTAL + "/portal/wifi"


def device(app, ip: str = "10.44.0.20"):  # type: ignore[no-untyped-def]
    """A test client on the visitors' network, at `ip`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


@pytest.fixture
def visitor(app):  # type: ignore[no-untyped-def]
    return device(app)


def accept(visitor, **form):  # type: ignore[no-untyped-def]
    return visitor.post("/portal/wifi/accept", data={"rules": "yes", **form}, headers={"Host": "10.44.0.1:8080"})


def get(client, path, **headers):  # type: ignore[no-untyped-def]
    return client.get(path, headers={"Host": "10.44.0.1:8080", **headers})


@pytest.mark.parametrize("path", sorted(PROBES))
def test_every_probe_says_portal_before_and_success_after(visitor, path):
    before = get(visitor, path)
    assert before.status_code == 302 and before.headers["Location"] == LANDING
    assert accept(visitor).status_code == 303
    after = get(visitor, path)
    status, _, body = PROBES[path]
    assert after.status_code == status and after.get_data(as_text=True) == body
    assert after.headers["Cache-Control"] == "no-store"


def test_probe_answers_match_what_each_os_expects():
    assert PROBES["/generate_204"][0] == 204
    assert "Success" in PROBES["/hotspot-detect.html"][2]
    assert PROBES["/connecttest.txt"][2] == "Microsoft Connect Test" and PROBES["/ncsi.txt"][2] == "Microsoft NCSI"
    assert PROBES["/success.txt"][2] == "success\n" and PROBES["/nm"][2] == "NetworkManager is online\n"


def test_another_hosts_page_goes_to_the_landing_page(visitor):
    response = visitor.get("/some/page?q=1", headers={"Host": "www.example.org"})
    assert response.status_code == 302 and response.headers["Location"] == LANDING


@pytest.mark.parametrize("lang,direction,words", [
    ("fr", "ltr", "Wi-Fi gratuit"), ("nl", "ltr", "Gratis wifi"), ("en", "ltr", "Free Wi-Fi"),
    ("ar", "rtl", "واي فاي مجاني"),
])
def test_the_landing_page_speaks_four_languages_light_and_without_scripts(visitor, app, lang, direction, words):
    visitor.set_cookie("epn_lang", lang, domain="10.44.0.1")
    html = get(visitor, "/portal/wifi").get_data(as_text=True)
    assert f'<html lang="{lang}" dir="{direction}">' in html and words in html
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    loaded = re.findall(r'(?:href|src)="(/static/[^"#]+)', html)
    assert sorted(set(loaded)) == ["/static/wifi-icons.svg", "/static/wifi.css"]
    static = sum(len(app.test_client().get(path).data) for path in set(loaded))
    assert len(html.encode()) + static < 30_000
    assert html.count("<button") == 2  # accept, and continue a session with a code


def test_accepting_without_ticking_the_rules_keeps_the_code_typed(visitor):
    visitor.set_cookie("epn_lang", "fr", domain="10.44.0.1")
    response = visitor.post("/portal/wifi/accept", data={"code": "abcd-efgh"}, headers={"Host": "10.44.0.1:8080"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Cochez la case" in html and 'value="abcd-efgh"' in html
    assert WifiSession.select().count() == 0


@pytest.mark.parametrize("code", ["NOPE-NOPE", "<script>", "x" * 300, "ZZZZ ZZZZ"])
def test_a_bad_voucher_is_refused_in_the_visitors_language(visitor, code):
    visitor.set_cookie("epn_lang", "nl", domain="10.44.0.1")
    response = accept(visitor, code=code)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "niet geldig" in html and "<script>" not in html
    assert WifiSession.select().count() == 0 and firewall_for_app(visitor).sessions() == {}


def firewall_for_app(client):  # type: ignore[no-untyped-def]
    return firewall_for(client.application.extensions["epn_config"])


def test_a_used_voucher_is_refused_on_a_second_phone(app):
    with app.app_context():
        (voucher,) = create_vouchers(1, 60)
    first = device(app, "10.44.0.21")
    second = device(app, "10.44.0.22")
    assert accept(first, code=voucher.code).status_code == 303
    assert accept(second, code=voucher.code).status_code == 400
    assert set(firewall_for_app(first).sessions()) == {"10.44.0.21"}
    assert WifiVoucher.get_by_id(voucher.id).uses == 1


def test_a_flood_of_acceptances_is_rate_limited(visitor):
    statuses = [accept(visitor, code=f"GUESS{n}").status_code for n in range(10)]
    assert statuses.count(429) >= 3 and set(statuses) == {400, 429}
    assert firewall_for_app(visitor).sessions() == {}


def test_the_welcome_page_shows_the_resume_code_and_a_new_mac_can_use_it(app, visitor):
    accept(visitor)
    html = get(visitor, "/portal/wifi/welcome").get_data(as_text=True)
    code = re.search(r'class="code"[^>]*>([A-Z0-9]{6})<', html).group(1)
    moved = device(app, "10.44.0.99")
    forged = moved.post("/portal/wifi/resume", data={"resume_code": "AAAAAA"}, headers={"Host": "10.44.0.1:8080"})
    assert forged.status_code == 400
    response = moved.post("/portal/wifi/resume", data={"resume_code": code}, headers={"Host": "10.44.0.1:8080"})
    assert response.status_code == 303
    assert set(firewall_for_app(visitor).sessions()) == {"10.44.0.99"}


def test_the_captive_api_follows_rfc_8908(app, visitor):
    response = get(visitor, "/captive-portal/api")
    assert response.content_type == "application/captive+json"
    body = json.loads(response.data)
    assert body == {"captive": True, "user-portal-url": LANDING, "venue-info-url": PORTAL + "/"}
    accept(visitor)
    body = json.loads(get(visitor, "/captive-portal/api").data)
    assert body["captive"] is False and body["seconds-remaining"] > 7000
    assert body["can-extend-session"] is True and "bytes-remaining" not in body


def test_the_captive_api_reports_the_bytes_left_with_a_quota(data_dir):
    from appliance.web import create_app

    app = create_app({"DATA_DIR": data_dir, "TESTING": True, "SETTINGS": {"wifi": {"byte_quota_mb": 200}}})
    visitor = device(app)
    accept(visitor)
    body = json.loads(get(visitor, "/captive-portal/api").data)
    assert body["bytes-remaining"] == 200_000_000


def test_staff_pages_and_the_api_do_not_answer_the_visitors_network(visitor):
    for path in ("/staff/login", "/staff/wifi/", "/api/v1/openapi.json"):
        assert get(visitor, path).status_code == 404, path
    assert get(visitor, "/").status_code == 200


def test_the_staff_page_shows_devices_without_addresses_and_ends_a_session(app, client, auth, visitor):
    accept(visitor)
    token = auth("mediator")
    html = client.get("/staff/wifi/").get_data(as_text=True)
    assert "10.44.0.20" not in html and 'class="big">1<' in html
    session = WifiSession.get()
    assert client.post(f"/staff/wifi/sessions/{session.id}/end", data={"csrf_token": token}).status_code == 303
    assert firewall_for_app(client).sessions() == {}
    assert get(visitor, "/generate_204").status_code == 302


def test_staff_pause_the_wifi_and_visitors_are_told(client, auth, visitor):
    token = auth("mediator")
    client.post("/staff/wifi/pause", data={"csrf_token": token, "paused": "1"})
    visitor.set_cookie("epn_lang", "en", domain="10.44.0.1")
    response = accept(visitor)
    assert response.status_code == 409 and "paused" in response.get_data(as_text=True)
    client.post("/staff/wifi/pause", data={"csrf_token": token, "paused": "0"})
    assert accept(visitor).status_code == 303


def test_staff_print_a_voucher_sheet_and_revoke_a_code(client, auth):
    token = auth("mediator")
    response = client.post("/staff/wifi/vouchers", data={"csrf_token": token, "count": "3", "minutes": "90",
                                                        "uses_allowed": "1", "batch": "Atelier CV"})
    assert response.status_code == 200 and WifiVoucher.select().count() == 3
    code = WifiVoucher.select().first().code
    assert f"{code[:4]}-{code[4:]}" in response.get_data(as_text=True)
    client.post("/staff/wifi/vouchers/revoke", data={"csrf_token": token, "code": code})
    assert WifiVoucher.get(WifiVoucher.code == code).revoked_at is not None


@pytest.mark.parametrize("form", [
    {"count": "0", "minutes": "90", "uses_allowed": "1"},
    {"count": "5", "minutes": "abc", "uses_allowed": "1"},
    {"count": "5", "minutes": "90", "uses_allowed": "1", "batch": "x" * 61},
    {"count": "", "minutes": "", "uses_allowed": ""},
])
def test_bad_voucher_sheets_are_refused_with_the_form_kept(client, auth, form):
    token = auth("mediator")
    client.set_cookie("epn_lang", "fr")
    response = client.post("/staff/wifi/vouchers", data={"csrf_token": token, **form})
    assert response.status_code == 400 and "error" in response.get_data(as_text=True)
    assert WifiVoucher.select().count() == 0


def test_the_staff_wifi_page_needs_a_sign_in(client):
    response = client.get("/staff/wifi/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert csrf_token(client)


def test_a_booking_code_typed_on_the_portal_opens_until_the_booking_ends(visitor):
    from datetime import timedelta

    from appliance.models import Booking
    from tests.conftest import FIXED_NOW

    Booking.create(code="7KQ2MX9D", kind="seat", status="booked", starts=FIXED_NOW - timedelta(minutes=10),
                   ends=FIXED_NOW + timedelta(minutes=50))
    assert accept(visitor, code="7kq2 mx9d").status_code == 303
    session = WifiSession.get()
    assert session.kind == "booking" and 49 * 60 <= (session.expires_at - session.started_at).seconds <= 50 * 60
    Booking.update(status="cancelled").execute()
    other = device(visitor.application, "10.44.0.23")
    other.set_cookie("epn_lang", "fr", domain="10.44.0.1")
    refused = accept(other, code="7KQ2MX9D")
    assert refused.status_code == 400 and "annulée" in refused.get_data(as_text=True)
