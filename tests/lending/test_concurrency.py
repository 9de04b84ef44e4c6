"""Two staff members lending the same device at the same moment, against a real
`epn serve` (gunicorn, two worker processes, the SQLite file): exactly one succeeds, the
other is told the device is already on loan, and one loan exists."""

from __future__ import annotations

import threading

import pytest

from appliance.db import database
from appliance.models import Device, Loan, Member
from tests.conftest import live_session
from tests.lending.conftest import add_inventory, borrower

pytestmark = pytest.mark.system
TAGS = ("LT-001", "LT-002", "TB-001", "BR-001")


def test_two_desks_lending_the_same_device_at_once_exactly_one_succeeds(data_dir, live_server):
    with database.connection_context():
        add_inventory()
        people = [borrower(f"Borrower {n}").number for n in range(2 * len(TAGS))]
    desks = [live_session(live_server, "mediator"), live_session(live_server, "coordinator")]
    for session, _ in desks:
        session.get(live_server.url + "/lang/en")
    results: dict[str, list[tuple[int, str]]] = {tag: [] for tag in TAGS}

    def lend(desk: int, tag: str, number: str, barrier: threading.Barrier) -> None:
        session, token = desks[desk]
        barrier.wait()
        response = session.post(
            f"{live_server.url}/staff/lending/devices/{tag}/checkout",
            allow_redirects=False,
            data={
                "csrf_token": token,
                "borrower": number,
                "loan_kind": "home",
                "accept_terms": "y",
            },
            timeout=30,
        )
        results[tag].append((response.status_code, response.text))

    for index, tag in enumerate(TAGS):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=lend, args=(desk, tag, people[2 * index + desk], barrier))
            for desk in (0, 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    for tag, answers in results.items():
        codes = sorted(code for code, _ in answers)
        assert codes == [302, 409], f"{tag}: {codes}"
        refused = next(text for code, text in answers if code == 409)
        assert "This device is already on loan." in refused
    with database.connection_context():
        assert Loan.select().count() == len(TAGS)
        assert Device.select().where(Device.status == "on_loan").count() == len(TAGS)
        lent_to = [loan.borrower.number for loan in Loan.select()]
        assert len(set(lent_to)) == len(TAGS) and set(lent_to) <= set(people)
        assert Member.select().count() == 2 * len(TAGS)
    assert "Traceback" not in live_server.log()


def test_two_desks_taking_back_the_same_device_at_once_record_one_return(data_dir, live_server):
    with database.connection_context():
        add_inventory()
        first = borrower("First")
    desks = [live_session(live_server, "mediator"), live_session(live_server, "coordinator")]
    session, token = desks[0]
    lent = session.post(
        f"{live_server.url}/staff/lending/devices/LT-001/checkout",
        allow_redirects=False,
        data={
            "csrf_token": token,
            "borrower": first.number,
            "loan_kind": "home",
            "accept_terms": "y",
        },
        timeout=30,
    )
    assert lent.status_code == 302
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def take_back(desk: int) -> None:
        session, token = desks[desk]
        barrier.wait()
        codes.append(
            session.post(
                f"{live_server.url}/staff/lending/devices/LT-001/checkin",
                allow_redirects=False,
                timeout=30,
                data={
                    "csrf_token": token,
                    "accessories": ["charger", "sleeve"],
                    "condition": "good",
                },
            ).status_code
        )

    threads = [threading.Thread(target=take_back, args=(desk,)) for desk in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [302, 409]
    with database.connection_context():
        assert (
            Loan.get().state == "returned"
            and Device.get(Device.tag == "LT-001").status == "to_reset"
        )
