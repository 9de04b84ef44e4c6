"""The hub's administration pages: admins only (a route audit), EPNs (add with a token
shown once, rotate or revoke keys, retire, correct the identity), accounts, the audit
log written in the same transaction as each action, and bad input refused whole."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.accounts import hash_password
from appliance.federation.hub.accounts import AuditEntry, HubAccount
from appliance.federation.hub.db import database
from appliance.federation.hub.models import EPN, Key
from tests.hub.conftest import NOW, WEEK, Appliance, enrol_appliance, enrolment_request

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'<code id="token">(enrol_[A-Za-z0-9_-]+)</code>')


@lru_cache(maxsize=1)
def _hash() -> str:
    return hash_password(PASSWORD)


def make_account(login: str, role: str = "coordinator", **fields) -> HubAccount:  # type: ignore[no-untyped-def]
    with database.connection_context():
        return HubAccount.create(login=login, display_name=login.capitalize(), password_hash=_hash(), role=role,
                                 **fields)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page)[1]


def sign_in(client, login: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": login, "password": password, "csrf_token": csrf_of(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def signed_in(app, account: HubAccount):  # type: ignore[no-untyped-def]
    """A client with the account's session, without paying for the password hash check."""
    client = app.test_client()
    client.set_cookie("hub_lang", "en")  # the assertions below read the English pages
    with client.session_transaction() as session:
        session["account_id"], session["epoch"] = account.id, account.session_epoch
    return client


def post(client, path: str, data: dict | None = None, page: str = "/admin/epns"):  # type: ignore[no-untyped-def]
    """POST a form with the CSRF token of `page`."""
    token = csrf_of(client.get(page).get_data(as_text=True))
    return client.post(path, data={**(data or {}), "csrf_token": token})


def audit_actions() -> list[tuple[str | None, str, str]]:
    with database.connection_context():
        return [(e.account.login if e.account_id else None, e.action, e.target)
                for e in AuditEntry.select().order_by(AuditEntry.id)]


@pytest.fixture
def admin(hub_app):  # type: ignore[no-untyped-def]
    return signed_in(hub_app, make_account("ada", "admin"))


@pytest.fixture
def coordinator(hub_app):  # type: ignore[no-untyped-def]
    return signed_in(hub_app, make_account("cole", "coordinator"))


def _url(rule) -> str:  # type: ignore[no-untyped-def]
    values = {"epn_id": "epn-1", "key_id": "0123456789abcdef", "account_id": "1"}
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m[1], "1"), rule.rule)


def _admin_routes(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("hub_admin.") or rule.rule.startswith("/admin"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_every_admin_route_is_under_admin_and_refused_to_coordinators_and_strangers(hub_app, coordinator):  # type: ignore[no-untyped-def]
    enrol_appliance(hub_app.test_client())  # epn-1 exists: a 403 is not a 404 in disguise
    routes = list(_admin_routes(hub_app))
    assert len(routes) >= 12
    stranger = hub_app.test_client()
    hub_app.config["WTF_CSRF_ENABLED"] = False  # so a POST reaches the role check itself
    for rule, method in routes:
        assert rule.rule.startswith("/admin/") and rule.endpoint.startswith("hub_admin."), rule.rule
        response = coordinator.open(_url(rule), method=method)
        assert response.status_code == 403, f"{method} {rule.rule} answered {response.status_code}"
        assert "text/html" in response.content_type
        response = stranger.open(_url(rule), method=method)
        assert response.status_code == 302 and "/login" in response.headers["Location"], rule.rule
    assert audit_actions() == []
    with database.connection_context():
        assert EPN.select().count() == 1 and EPN.get().active


def test_only_admins_see_the_administration_in_the_menu(admin, coordinator):  # type: ignore[no-untyped-def]
    assert 'href="/admin/epns"' in admin.get("/dashboard").get_data(as_text=True)
    assert 'href="/admin/epns"' not in coordinator.get("/dashboard").get_data(as_text=True)


def test_adding_an_epn_shows_its_token_once_and_it_enrols(admin, hub_app):  # type: ignore[no-untyped-def]
    response = post(admin, "/admin/epns", {"name": "EPN Sint-Gillis", "commune": "Sint-Gillis",
                                           "postal_code": "1060", "organiser": "library"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    token = TOKEN.search(page)[1]
    assert "epn-1" in page
    with database.connection_context():
        epn = EPN.get()
        assert (epn.name, epn.commune, epn.postal_code, epn.organiser) == ("EPN Sint-Gillis", "21013", "1060",
                                                                          "library")
    assert token not in admin.get("/admin/epns").get_data(as_text=True)
    assert token not in admin.get("/admin/epns/epn-1").get_data(as_text=True)
    enrolled = hub_app.test_client().post("/api/v1/enrol", json=enrolment_request(token, Ed25519PrivateKey.generate()))
    assert enrolled.status_code == 200
    assert audit_actions() == [("ada", "epn.add", "epn-1")]
    assert "EPN added" in admin.get("/admin/audit").get_data(as_text=True)


@pytest.mark.parametrize("field, value, kept", [
    ("name", "", None),
    ("commune", "Atlantis", "Atlantis"),
    ("postal_code", "10a0", "10a0"),
    ("postal_code", "12345", "12345"),
    ("organiser", "church", None),
    ("name", "x" * 101, None),
])
def test_bad_epn_input_is_refused_in_the_readers_language_and_writes_nothing(admin, field, value, kept):  # type: ignore[no-untyped-def]
    admin.set_cookie("hub_lang", "nl")
    form = {"name": "EPN Elsene", "commune": "Elsene", "postal_code": "1050", "organiser": "cpas", field: value}
    response = post(admin, "/admin/epns", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'lang="nl"' in page and 'class="error"' in page
    assert "Please correct what is marked below." not in page  # translated
    assert ('value="EPN Elsene"' in page) == (field != "name")  # what was typed is kept
    if kept:
        assert f'value="{kept}"' in page
    with database.connection_context():
        assert EPN.select().count() == 0
    assert audit_actions() == []


def test_rotation_from_the_hub_revokes_the_key_and_the_token_enrols_a_new_one(admin, hub_app):  # type: ignore[no-untyped-def]
    appliance = enrol_appliance(hub_app.test_client())
    assert appliance.report("2026-W46", WEEK).status_code == 201
    page = admin.get(f"/admin/epns/{appliance.epn}").get_data(as_text=True)
    assert "epn rotate-key" in page  # the page explains what a rotation from the hub is
    response = post(admin, f"/admin/epns/{appliance.epn}/rotate", page=f"/admin/epns/{appliance.epn}")
    assert response.status_code == 200
    token = TOKEN.search(response.get_data(as_text=True))[1]
    refused = appliance.report("2026-W47", WEEK)
    assert refused.status_code == 401 and refused.get_json()["reason"] == "revoked_key"
    key = Ed25519PrivateKey.generate()
    enrolled = hub_app.test_client().post("/api/v1/enrol", json=enrolment_request(token, key))
    assert enrolled.status_code == 200 and enrolled.get_json()["last_sequence"] == 1
    renewed = Appliance(appliance.client, appliance.epn, key, enrolled.get_json()["key_id"], sequence=2)
    assert renewed.report("2026-W47", WEEK).status_code == 201
    assert [a[1] for a in audit_actions()] == ["key.rotate"]
    with database.connection_context():
        assert appliance.key_id in AuditEntry.get().detail


def test_revoking_a_key_takes_effect_at_once_and_is_audited(admin, appliance):  # type: ignore[no-untyped-def]
    epn_page = f"/admin/epns/{appliance.epn}"
    response = post(admin, f"{epn_page}/keys/{appliance.key_id}/revoke", page=epn_page)
    assert response.status_code == 303
    assert appliance.report("2026-W47", WEEK).status_code == 401
    assert post(admin, f"{epn_page}/keys/{appliance.key_id}/revoke", page=epn_page).status_code == 303
    assert post(admin, f"{epn_page}/keys/ffffffffffffffff/revoke", page=epn_page).status_code == 404
    assert audit_actions() == [("ada", "key.revoke", appliance.epn)]


def test_retiring_an_epn_keeps_its_reports_and_refuses_new_ones(admin, appliance):  # type: ignore[no-untyped-def]
    from appliance.federation.hub.models import Report

    assert appliance.report("2026-W46", WEEK).status_code == 201
    epn_page = f"/admin/epns/{appliance.epn}"
    assert post(admin, f"{epn_page}/retire", page=epn_page).status_code == 303
    assert appliance.report("2026-W47", WEEK).status_code == 401
    page = admin.get(epn_page).get_data(as_text=True)
    assert "Reactivate" in page and "/token" not in page
    assert post(admin, f"{epn_page}/token", page=epn_page).status_code == 400
    with database.connection_context():
        assert Report.select().count() == 1 and not EPN.get_by_id(appliance.epn).active
    assert post(admin, f"{epn_page}/reactivate", page=epn_page).status_code == 303
    response = post(admin, f"{epn_page}/token", page=epn_page)
    assert response.status_code == 200 and TOKEN.search(response.get_data(as_text=True))
    assert [a[1] for a in audit_actions()] == ["epn.retire", "epn.reactivate", "epn.token"]


def test_correcting_an_epns_identity_is_audited_with_the_codes(admin, appliance):  # type: ignore[no-untyped-def]
    epn_page = f"/admin/epns/{appliance.epn}"
    form = {"name": "EPN Ixelles", "commune": "Elsene", "postal_code": "1050", "organiser": "municipality"}
    assert post(admin, epn_page, form, page=epn_page).status_code == 303
    with database.connection_context():
        epn = EPN.get_by_id(appliance.epn)
        assert (epn.name, epn.commune, epn.postal_code, epn.organiser) == ("EPN Ixelles", "21009", "1050",
                                                                          "municipality")
        entry = AuditEntry.get()
    assert entry.action == "epn.correct" and "commune 21013 -> 21009" in entry.detail
    assert "Ixelles" not in entry.detail  # names are not copied into the log
    response = post(admin, epn_page, {**form, "commune": "Atlantis", "name": "Other"}, page=epn_page)
    assert response.status_code == 400 and 'value="Atlantis"' in response.get_data(as_text=True)
    with database.connection_context():
        assert EPN.get_by_id(appliance.epn).name == "EPN Ixelles" and AuditEntry.select().count() == 1
    assert admin.get("/admin/epns/epn-99").status_code == 404


def test_accounts_are_added_with_the_password_rules_and_audited(admin, hub_app):  # type: ignore[no-untyped-def]
    form = {"username": "nora", "display_name": "Nora", "password": PASSWORD, "role": "coordinator"}
    page = "/admin/accounts"
    assert post(admin, page, form, page=page).status_code == 303
    sign_in(hub_app.test_client(), "nora")
    for bad in ({"password": "short"}, {"username": "nora"}, {"username": "No Spaces"}, {"role": "emperor"}):
        response = post(admin, page, {**form, "username": "other", **bad}, page=page)
        text = response.get_data(as_text=True)
        assert response.status_code == 400 and 'class="error"' in text, bad
        assert f'value="{bad.get("username", "other")}"' in text
    with database.connection_context():
        assert sorted(a.login for a in HubAccount.select()) == ["ada", "nora"]
    assert audit_actions() == [("ada", "account.add", "nora")]


def test_disabling_an_account_ends_its_sessions_but_never_your_own(admin, hub_app):  # type: ignore[no-untyped-def]
    cole = make_account("cole")
    session = signed_in(hub_app, cole)
    page = "/admin/accounts"
    assert post(admin, f"/admin/accounts/{cole.id}/disable", page=page).status_code == 303
    assert session.get("/dashboard").status_code == 302
    with database.connection_context():
        ada = HubAccount.get(HubAccount.login == "ada")
        assert HubAccount.get_by_id(cole.id).disabled_at is not None
    response = post(admin, f"/admin/accounts/{ada.id}/disable", page=page)
    assert response.status_code == 400 and admin.get("/dashboard").status_code == 200
    assert post(admin, f"/admin/accounts/{cole.id}/enable", page=page).status_code == 303
    sign_in(hub_app.test_client(), "cole")
    assert [a[1] for a in audit_actions()] == ["account.disable", "account.enable"]
    assert post(admin, "/admin/accounts/999/disable", page=page).status_code == 404


def test_the_last_admin_stays_admin(admin, hub_app):  # type: ignore[no-untyped-def]
    with database.connection_context():
        ada = HubAccount.get(HubAccount.login == "ada")
    page = "/admin/accounts"
    response = post(admin, f"/admin/accounts/{ada.id}/role", {"role": "coordinator"}, page=page)
    assert response.status_code == 400 and "admin" in response.get_data(as_text=True)
    bob = make_account("bob")
    assert post(admin, f"/admin/accounts/{bob.id}/role", {"role": "admin"}, page=page).status_code == 303
    assert post(admin, f"/admin/accounts/{bob.id}/role", {"role": "nobody"}, page=page).status_code == 400
    assert post(admin, f"/admin/accounts/{ada.id}/role", {"role": "coordinator"}, page=page).status_code == 303
    assert admin.get("/admin/epns").status_code == 403  # ada is a coordinator now
    with database.connection_context():
        assert HubAccount.get_by_id(bob.id).role == "admin"
    assert [a[1:] for a in audit_actions()] == [("account.role", "bob"), ("account.role", "ada")]


def test_resetting_a_password_ends_the_sessions_and_lifts_a_lockout(admin, hub_app):  # type: ignore[no-untyped-def]
    cole = make_account("cole", locked_until=NOW.replace(tzinfo=None) + timedelta(hours=1))
    page = f"/admin/accounts/{cole.id}/password"
    response = post(admin, page, {"password": "short"}, page=page)
    assert response.status_code == 400 and 'class="error"' in response.get_data(as_text=True)
    assert post(admin, page, {"password": "a brand new password"}, page=page).status_code == 303
    sign_in(hub_app.test_client(), "cole", "a brand new password")
    assert audit_actions() == [("ada", "account.password", "cole")]


def test_the_audit_log_names_who_did_what_on_what(admin, hub_app):  # type: ignore[no-untyped-def]
    from appliance.federation.hub.accounts import CLI, audit

    post(admin, "/admin/epns", {"name": "EPN A", "commune": "21013", "postal_code": "1060", "organiser": "other"})
    with database.connection_context():
        audit(None, "epn.retire", "epn-1", f"{CLI}; ", now=NOW.replace(tzinfo=None) + timedelta(minutes=1))
    page = admin.get("/admin/audit").get_data(as_text=True)
    rows = re.findall(r"<tr><td>.*?</tr>", page, re.DOTALL)
    assert len(rows) == 2
    assert "command line" in rows[0] and "EPN retired" in rows[0]
    assert "ada" in rows[1] and "EPN added" in rows[1] and "epn-1" in rows[1] and "commune=21013" in rows[1]


def test_the_retention_purge_deletes_old_disabled_accounts_and_old_audit_entries(admin, hub_app):  # type: ignore[no-untyped-def]
    from appliance.federation.hub.accounts import audit, purge

    hub = hub_app.extensions["epn_config"].hub
    now = NOW.replace(tzinfo=None)
    gone = make_account("gone", active=False, disabled_at=now - timedelta(days=hub.account_retention_days + 1))
    make_account("recent", active=False, disabled_at=now - timedelta(days=hub.account_retention_days - 1))
    with database.connection_context():
        audit(gone.id, "account.add", "x", now=now - timedelta(days=10))
        audit(None, "epn.add", "old", now=now - timedelta(days=hub.audit_days + 1))
        assert purge(now, hub.account_retention_days, hub.audit_days) == (1, 1)
        assert sorted(a.login for a in HubAccount.select()) == ["ada", "recent"]
        kept = AuditEntry.get(AuditEntry.target == "x")
        assert kept.account_id is None  # the entry stays, without the deleted account
        assert purge(now, hub.account_retention_days, hub.audit_days) == (0, 0)
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "deleted account" in page and "Retention purge" in page
    assert post(admin, "/admin/purge", page="/admin/audit").status_code == 303


def test_pages_run_the_retention_purge_once_a_day(hub_app):  # type: ignore[no-untyped-def]
    hub = hub_app.extensions["epn_config"].hub
    old = NOW.replace(tzinfo=None) - timedelta(days=hub.account_retention_days + 2)
    make_account("gone", active=False, disabled_at=old)
    client = hub_app.test_client()
    assert client.get("/login").status_code == 200
    with database.connection_context():
        assert HubAccount.select().count() == 0
    make_account("gone2", active=False, disabled_at=old)
    client.get("/login")  # the same day: no second purge
    with database.connection_context():
        assert HubAccount.select().count() == 1
    hub_app.extensions["hub_clock"] = lambda: NOW + timedelta(days=1, minutes=1)
    client.get("/login")
    with database.connection_context():
        assert HubAccount.select().count() == 0


def test_a_form_larger_than_the_limit_gets_a_413_page(admin):  # type: ignore[no-untyped-def]
    response = post(admin, "/admin/epns", {"name": "x" * 200_000, "commune": "21013", "postal_code": "1060",
                                           "organiser": "other"})
    assert response.status_code == 413 and "text/html" in response.content_type
    with database.connection_context():
        assert EPN.select().count() == 0 and Key.select().count() == 0


def test_an_action_and_its_audit_entry_are_one_transaction(hub_app, monkeypatch):  # type: ignore[no-untyped-def]
    from appliance.federation.hub import accounts, administration

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the audit log is unwritable")

    monkeypatch.setattr(administration, "audit", broken)
    monkeypatch.setattr(accounts, "audit", broken)
    with database.connection_context():
        with pytest.raises(RuntimeError):
            administration.add_epn(None, "EPN A", "21013", "1060", "other", NOW, 72)
        with pytest.raises(RuntimeError):
            accounts.add_account(None, "nora", PASSWORD)
        assert EPN.select().count() == 0 and HubAccount.select().count() == 0
