"""The entrance screen: numbers called, people waiting, seats and workshops from the
booking domain when it answers; refreshes without JavaScript; no personal data."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from appliance.db import database
from appliance.helpqueue import call_next, take_ticket
from appliance.web import now as now_view
from tests.conftest import FIXED_NOW


def queue_of_three(config) -> None:  # type: ignore[no-untyped-def]
    with database.connection_context():
        for kind in ("forms", "job", "eid"):
            take_ticket(kind, FIXED_NOW - timedelta(minutes=20), config, "desk")
        call_next(FIXED_NOW - timedelta(minutes=10))
        call_next(FIXED_NOW - timedelta(minutes=5))


def test_the_screen_shows_the_last_number_called_first_and_refreshes_itself(open_app, client):
    from appliance.config import QueueConfig

    queue_of_three(QueueConfig())
    page = client.get("/now").get_data(as_text=True)
    assert re.search(r'class="now-number">2<', page)
    assert re.search(r'class="now-earlier"><li>1</li>', page)
    assert '<meta http-equiv="refresh" content="15;url=/now?lang=fr">' in page
    assert "<script" not in page


@pytest.mark.parametrize("lang, direction, words", [("nl", "ltr", "Afgeroepen nummer"),
                                                    ("en", "ltr", "Number called"),
                                                    ("ar", "rtl", "الرقم المنادى")])
def test_the_screen_speaks_one_language_or_cycles_through_them(open_app, client, lang, direction, words):
    page = client.get(f"/now?lang={lang}&cycle=1").get_data(as_text=True)
    assert f'lang="{lang}" dir="{direction}"' in page and words in page
    following = {"nl": "en", "en": "ar", "ar": "fr"}[lang]
    assert f"url=/now?lang={following}&amp;cycle=1" in page


def test_a_bad_language_falls_back_to_the_epns_default(open_app, client):
    response = client.get("/now?lang=xx&cycle=<b>")
    assert response.status_code == 200
    assert 'lang="fr"' in response.get_data(as_text=True)


def test_the_screen_shows_seats_and_workshops_from_the_booking_board(open_app, client, monkeypatch):
    board = {"seats_total": 12, "seats_free": 5, "workshops": [
        {"title": "Premiers pas sur tablette", "starts": FIXED_NOW + timedelta(hours=3),
         "ends": FIXED_NOW + timedelta(hours=5), "places_left": 2}]}
    monkeypatch.setattr(now_view, "booking_board", lambda now: board)
    page = client.get("/now?lang=en").get_data(as_text=True)
    assert "Computers free now" in page and re.search(r">5<span class=\"now-of\"> / 12", page)
    assert "Premiers pas sur tablette" in page and "2 places left" in page


def test_the_screen_shows_the_queue_alone_when_booking_has_no_board(open_app, client, monkeypatch):
    monkeypatch.setattr(now_view, "booking_board", lambda now: None)
    page = client.get("/now?lang=en").get_data(as_text=True)
    assert "Number called" in page and "Computers free now" not in page


def test_the_real_booking_board_is_shown_when_the_booking_domain_has_one(open_app, client):
    with open_app.app_context(), database.connection_context():
        board = now_view.booking_board(FIXED_NOW)
    if board is None:
        pytest.skip("appliance.booking.now_board is not available yet")
    page = client.get("/now?lang=en").get_data(as_text=True)
    assert client.get("/now").status_code == 200
    assert f"{board['seats_free']}<span class=\"now-of\"> / {board['seats_total']}" in page
