"""Enrolment (proof of possession, fingerprints, carrying on from the hub's last sequence,
enrolling again) and key rotation (signed by both keys, then the switch)."""

import pytest

from appliance.federation import keys
from appliance.federation.canonical import parse_strict
from appliance.federation.enrol import EnrolmentError, enrol, normalise_hub_url, rotate_key
from appliance.federation.link import FederationError, new_key_path, signing_key
from appliance.federation.push import push_outbox
from appliance.federation.report import build_due, build_report
from appliance.models import FederationLink, OutboxReport
from appliance.period import Period
from tests.federation.conftest import NOW, SYNCED
from tests.federation.fakehub import FakeHub, Scripted


def week(config, name="2026-W40"):  # type: ignore[no-untyped-def]
    return build_report(Period.parse(name), config, now=NOW, clock=SYNCED)


def test_enrolment_proves_the_key_and_stores_the_link(db, config, hub: FakeHub):
    done = enrol(config, hub.url + "/", hub.add_epn("epn-7"))
    public = keys.public_bytes(keys.ensure_key(config.data_dir))
    assert (done.hub, done.epn, done.key_id) == ("fakehub", "epn-7", keys.key_id(public))
    assert done.hub_fingerprint == done.local_fingerprint == keys.fingerprint(public)
    link = FederationLink.get()
    assert (link.hub_url, link.hub_id, link.epn_id, link.key_id) == (hub.url, "fakehub", "epn-7", done.key_id)
    assert link.next_sequence == 1 and link.revoked_at is None
    sent = parse_strict(hub.received[-1][2])
    assert set(sent) == {"token", "public_key", "proof"}


def test_enrolment_carries_on_after_the_hubs_last_sequence(db, config, hub: FakeHub):
    hub.last_sequence["epn-7"] = 41  # e.g. an appliance restored from an old backup
    assert enrol(config, hub.url, hub.add_epn("epn-7")).next_sequence == 42
    assert week(config)["sequence"] == 42


@pytest.mark.parametrize("answer, fragment", [
    (Scripted(401, {"status": "refused", "reason": "unknown token"}), "unknown token"),
    (Scripted(200, {"hub": "fakehub", "epn": "epn-7", "key_id": "0000000000000000",
                    "fingerprint": "X", "last_sequence": 0}), "not ours"),
    (Scripted(200, {"hub": "fake hub!", "epn": "epn-7"}), "'hub'"),
    (Scripted(200, {"hub": "h", "epn": "e", "key_id": "k", "fingerprint": "f", "last_sequence": -1}),
     "last_sequence"),
])
def test_a_refused_or_untrustworthy_enrolment_stores_nothing(db, config, hub: FakeHub, answer, fragment):
    def scripted_enrol(request, data):  # type: ignore[no-untyped-def]
        return answer.status, answer.body, {}

    hub._enrol = scripted_enrol  # type: ignore[method-assign]
    with pytest.raises(EnrolmentError, match=fragment):
        enrol(config, hub.url, "some-token")
    assert FederationLink.select().count() == 0


def test_a_wrong_token_is_refused_by_the_hub(db, config, hub: FakeHub):
    hub.add_epn("epn-7")
    with pytest.raises(EnrolmentError, match="refused"):
        enrol(config, hub.url, "not-the-token")


def test_an_unreachable_hub_is_one_clear_error(db, config):
    from tests.conftest import free_port

    with pytest.raises(EnrolmentError, match="did not answer"):
        enrol(config, f"http://127.0.0.1:{free_port()}", "token")


@pytest.mark.parametrize("url", ["ftp://hub", "hub.example.org", "https://user:pw@hub.example.org",
                                 "https://hub.example.org/?token=x"])
def test_hub_urls_are_checked(url):
    with pytest.raises(EnrolmentError):
        normalise_hub_url(url)


def test_hub_url_keeps_a_path_without_its_trailing_slash():
    assert normalise_hub_url(" https://hub.example.org/federation/ ") == "https://hub.example.org/federation"


def test_after_a_revocation_a_new_key_is_enrolled_and_waiting_reports_are_built_again(enrolled, hub: FakeHub):
    old_id = FederationLink.get().key_id
    week(enrolled)
    hub.revoked.update(hub.keys)
    assert push_outbox(enrolled, force=True).stopped == "revoked"
    with pytest.raises(EnrolmentError, match="epn enrol --new-key HUB_URL TOKEN"):
        enrol(enrolled, hub.url, hub.add_epn("epn-7"))  # a hub does not take a revoked key back
    done = enrol(enrolled, hub.url, hub.add_epn("epn-7"), new_key=True)
    assert done.key_id != old_id and done.superseded == 1
    link = FederationLink.get()
    assert link.revoked_at is None and link.key_id == done.key_id and link.first_sequence == 1
    assert keys.key_id(keys.public_bytes(keys.ensure_key(enrolled.data_dir))) == done.key_id
    assert not new_key_path(enrolled.data_dir).exists()
    again = build_report(Period.parse("2026-W40"), enrolled, now=NOW, clock=SYNCED, if_changed=True)
    assert again is not None and again["key_id"] == done.key_id  # the parked one does not count
    assert push_outbox(enrolled, force=True).sent == 1
    assert hub.accepted_sequences() == [2]


def test_enrolling_as_another_epn_parks_old_reports_unsent_and_reports_every_period_anew(enrolled, hub: FakeHub):
    FederationLink.update(enrolled_at=NOW.replace(tzinfo=None)).execute()
    first = build_due(enrolled, now=NOW, clock=SYNCED)
    hub.script.extend([Scripted(201), Scripted(201), Scripted(201), Scripted(503)])
    assert push_outbox(enrolled, force=True).sent == 3
    done = enrol(enrolled, hub.url, hub.add_epn("epn-8"))
    assert done.superseded == len(first) - 3  # the three sent ones stay "sent", as history
    assert done.next_sequence == len(first) + 1  # never reuses a local sequence
    parked = OutboxReport.select().where(OutboxReport.status == "parked")
    assert parked.count() == len(first) - 3 and all(r.http_status is None for r in parked)
    FederationLink.update(enrolled_at=NOW.replace(tzinfo=None)).execute()  # same backfill window
    again = build_due(enrolled, now=NOW, clock=SYNCED)
    assert [b["period"] for b in again] == [b["period"] for b in first]
    assert {b["epn"] for b in again} == {"epn-8"}
    assert push_outbox(enrolled, force=True).sent == len(first)
    assert len(hub.accepted_sequences("epn-8")) == len(first)


def test_enrolling_again_as_the_same_epn_keeps_its_history(enrolled, hub: FakeHub):
    FederationLink.update(enrolled_at=NOW.replace(tzinfo=None)).execute()
    first = build_due(enrolled, now=NOW, clock=SYNCED)
    push_outbox(enrolled, force=True)
    enrol(enrolled, hub.url, hub.add_epn("epn-7"))
    assert FederationLink.get().first_sequence == 1
    assert FederationLink.get().next_sequence == len(first) + 1
    assert build_due(enrolled, now=NOW, clock=SYNCED) == []


def test_key_rotation_is_signed_by_both_keys_and_then_used(enrolled, hub: FakeHub):
    old_id = FederationLink.get().key_id
    done = rotate_key(enrolled)
    assert done.old_key_id == old_id and done.new_key_id != old_id
    assert FederationLink.get().key_id == done.new_key_id
    assert keys.key_id(keys.public_bytes(keys.ensure_key(enrolled.data_dir))) == done.new_key_id
    assert not new_key_path(enrolled.data_dir).exists()
    assert oct(keys.key_path(enrolled.data_dir).stat().st_mode & 0o777) == "0o600"
    path, headers, body = hub.received[-1]
    assert path == "/api/v1/keys/rotate" and parse_strict(body)["old_key_id"] == old_id
    assert "Epn-Signature-Old" in headers and "Epn-Signature-New" in headers
    body = week(enrolled)
    assert body["key_id"] == done.new_key_id
    assert push_outbox(enrolled, force=True).sent == 1


def test_rotation_waits_until_the_outbox_is_empty(enrolled, hub: FakeHub):
    week(enrolled)
    with pytest.raises(FederationError, match="run `epn push` first"):
        rotate_key(enrolled)
    push_outbox(enrolled, force=True)
    rotate_key(enrolled)


def test_a_refused_rotation_keeps_the_old_key(enrolled, hub: FakeHub):
    old_id = FederationLink.get().key_id
    hub._rotate = lambda request, data: (401, {"status": "refused", "reason": "bad_signature"}, {})  # type: ignore[method-assign]
    with pytest.raises(FederationError, match="bad_signature"):
        rotate_key(enrolled)
    assert FederationLink.get().key_id == old_id
    assert signing_key(enrolled.data_dir, FederationLink.get()) is not None


def test_a_rotation_interrupted_after_the_link_changed_is_finished_at_the_next_signature(enrolled, hub: FakeHub):
    """Killed between recording the new key id and moving the key file into place."""
    from appliance.federation.enrol import _staged_key

    staged = _staged_key(enrolled)
    new_id = keys.key_id(keys.public_bytes(staged))
    FederationLink.update(key_id=new_id).execute()
    key = signing_key(enrolled.data_dir, FederationLink.get())
    assert keys.key_id(keys.public_bytes(key)) == new_id
    assert not new_key_path(enrolled.data_dir).exists()


def test_a_key_that_is_not_the_enrolled_one_refuses_to_sign(enrolled):
    FederationLink.update(key_id="ffffffffffffffff").execute()
    with pytest.raises(FederationError, match="enrol again"):
        week(enrolled)
    assert OutboxReport.select().count() == 0


def test_a_rotation_the_hub_took_before_the_appliance_died_is_finished_by_trying_again(enrolled, hub: FakeHub):
    """The hub switched keys, but the appliance was killed before it did: reports signed
    with the old key are refused (401). `epn key rotate` again completes the switch."""
    from appliance.federation.enrol import _staged_key

    old_id = FederationLink.get().key_id
    staged = _staged_key(enrolled)
    new_raw = keys.public_bytes(staged)
    with hub.lock:  # what the hub did with the lost rotation
        hub.keys[keys.key_id(new_raw)] = ("epn-7", staged.public_key())
        hub.revoked.add(old_id)
    week(enrolled)
    assert push_outbox(enrolled, force=True).stopped == "revoked"
    hub._rotate = lambda request, data: (200, {"status": "duplicate"}, {})  # type: ignore[method-assign]
    done = rotate_key(enrolled)
    assert done.new_key_id == keys.key_id(new_raw)
    link = FederationLink.get()
    assert link.key_id == done.new_key_id and link.revoked_at is None
    assert OutboxReport.get().status == "parked"  # signed with the old key: set aside unsent
    again = build_report(Period.parse("2026-W40"), enrolled, now=NOW, clock=SYNCED, if_changed=True)
    assert again["key_id"] == done.new_key_id
    assert push_outbox(enrolled, force=True).sent == 1
