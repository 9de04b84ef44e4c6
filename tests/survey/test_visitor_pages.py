"""The survey as a visitor meets it, through the test client: one question a page, a
tap moves on, everything optional, French and Arabic (right to left), the answers carried
in the form until the last page stores them at once, and altered forms refused."""

from __future__ import annotations

import json

import pytest

from appliance.db import database
from appliance.models import SurveyResponse
from appliance.survey.questions import QUESTIONS
from tests.survey.conftest import TODAY, Visitor, stored

CODES = [q.code for q in QUESTIONS]


def in_language(client, code: str) -> None:  # type: ignore[no-untyped-def]
    client.get(f"/lang/{code}?next=/")


def answer_all(visitor: Visitor) -> None:
    """A visitor who answers some questions, skips others and goes back once."""
    visitor.start()
    assert visitor.step() == 0 and "1 / 15" in visitor.page
    visitor.tap("job_seeker")  # status
    visitor.tap("40_49")  # age
    visitor.submit(("go", "skip"))  # gender: skipped
    visitor.tap("upper_secondary")  # diploma
    visitor.tick("devices", "computer", "smartphone")
    visitor.submit(("go", "back"))  # back to devices: the ticks are still there
    assert visitor.step() == 4 and visitor.page.count("checked") == 2
    visitor.tick("devices", "smartphone")  # changes their mind
    for answer in ("own", "no", "vaguely"):
        visitor.tap(answer)
    visitor.tick("heard_from", "word_of_mouth")
    visitor.tick("why", "help", "printing")
    visitor.tick("what_for")  # nothing ticked: no answer
    visitor.tap("9")  # satisfaction
    assert visitor.step() == 12  # area
    visitor.submit(("postal_code", "1080"), ("go", "next"))
    visitor.tap("arabic")  # mother tongue
    assert visitor.step() == 14 and stored() == []  # nothing stored before the end
    visitor.tick("languages", "arabic", "french", "dutch")


EXPECTED = {
    "status": ["job_seeker"],
    "age": ["40_49"],
    "diploma": ["upper_secondary"],
    "devices": ["smartphone"],
    "internet_home": ["own"],
    "help_home": ["no"],
    "knew_before": ["vaguely"],
    "heard_from": ["word_of_mouth"],
    "why": ["help", "printing"],
    "satisfaction": ["9"],
    "area": ["brussels"],
    "mother_tongue": ["arabic"],
    "languages": ["french", "dutch", "arabic"],
}


# --- The way in -------------------------------------------------------------------------


def test_the_home_page_shows_the_survey_only_while_it_is_open(client, app) -> None:
    assert "/survey/" not in client.get("/").get_data(as_text=True)
    from appliance.survey.responses import open_window

    with database.connection_context():
        open_window(TODAY, TODAY, TODAY)
    assert 'href="/survey/"' in client.get("/").get_data(as_text=True)


def test_a_closed_survey_says_so_kindly_and_stores_nothing(client, visitor: Visitor) -> None:
    in_language(client, "en")
    visitor.open()
    assert visitor.status == 200 and "The survey is closed right now." in visitor.page
    assert 'name="go"' not in visitor.page


# --- A whole sheet, in French and in Arabic ---------------------------------------------


def test_a_visitor_answers_in_french_and_the_sheet_is_stored_at_the_end(
    client, survey_open, visitor
) -> None:
    in_language(client, "fr")
    answer_all(visitor)
    assert visitor.status == 303 and visitor.location.endswith("/survey/thanks")
    (sheet,) = stored()
    assert sheet.day == TODAY and json.loads(sheet.answers) == EXPECTED
    thanks = client.get("/survey/thanks").get_data(as_text=True)
    assert 'lang="fr"' in thanks and "Merci" in thanks


def test_a_visitor_answers_in_arabic_right_to_left(client, survey_open, visitor) -> None:
    in_language(client, "ar")
    visitor.open()
    assert 'lang="ar" dir="rtl"' in visitor.page and "استبيان قصير" in visitor.page
    answer_all(visitor)
    assert json.loads(stored()[0].answers) == EXPECTED
    thanks = client.get("/survey/thanks").get_data(as_text=True)
    assert 'lang="ar" dir="rtl"' in thanks and "شكرًا" in thanks


def test_a_question_page_in_arabic_speaks_arabic(client, survey_open, visitor) -> None:
    in_language(client, "ar")
    visitor.start()
    assert 'lang="ar" dir="rtl"' in visitor.page and "ماذا تفعل الآن؟" in visitor.page
    assert "1 / 15" in visitor.page and "السؤال 1 من 15" in visitor.page


def test_changing_language_on_a_page_keeps_the_answers(client, survey_open, visitor) -> None:
    in_language(client, "fr")
    visitor.start().tap("student").tap("20_29")
    visitor.submit(("lang", "ar"))
    assert visitor.step() == 2 and 'dir="rtl"' in visitor.page
    assert ("a.status", "student") in visitor.hidden() and ("a.age", "20_29") in visitor.hidden()
    assert client.get_cookie("epn_lang").value == "ar"  # the next pages stay in Arabic


def test_skip_forgets_an_answer_and_back_keeps_it(survey_open, visitor) -> None:
    visitor.start().tap("student")
    visitor.submit(("go", "back"))
    assert visitor.step() == 0 and ("a.status", "student") in visitor.hidden()
    assert 'value="student" class="answer chosen"' in visitor.page
    visitor.submit(("go", "skip"))
    assert visitor.step() == 1 and not any(name == "a.status" for name, _ in visitor.hidden())


def test_skipping_every_question_stores_an_empty_sheet(survey_open, visitor) -> None:
    visitor.start()
    for _ in CODES:
        visitor.submit(("go", "skip"))
    assert visitor.status == 303 and json.loads(stored()[0].answers) == {}


def test_the_postal_code_is_turned_into_its_district_and_never_kept(
    client, survey_open, visitor
) -> None:
    visitor.start()
    for _ in range(12):
        visitor.submit(("go", "skip"))
    visitor.submit(("postal_code", "3090"), ("go", "next"))
    assert ("a.area", "halle_vilvoorde") in visitor.hidden() and "3090" not in visitor.page
    for _ in range(2):
        visitor.submit(("go", "skip"))
    assert json.loads(stored()[0].answers) == {"area": ["halle_vilvoorde"]}
    directory = client.application.extensions["epn_config"].data_dir
    raw = b"".join(
        path.read_bytes() for path in directory.iterdir() if path.name.startswith("epn.sqlite3")
    )
    assert b'"3090"' not in raw and b"postal" not in raw


def test_a_mistyped_postal_code_asks_again_and_stores_nothing(client, survey_open, visitor) -> None:
    in_language(client, "fr")
    visitor.start()
    for _ in range(12):
        visitor.submit(("go", "skip"))
    visitor.submit(("postal_code", "12"), ("go", "next"))
    assert visitor.status == 400 and visitor.step() == 12
    assert 'aria-invalid="true"' in visitor.page and "4 chiffres" in visitor.page
    visitor.submit(("answer", "abroad"))
    assert ("a.area", "abroad") in visitor.hidden() and stored() == []


def test_sending_the_last_page_twice_stores_one_sheet(survey_open, visitor) -> None:
    visitor.start()
    for _ in range(14):
        visitor.submit(("go", "skip"))
    last_page = visitor.page
    visitor.submit(("go", "skip"))
    visitor.page = last_page
    visitor.submit(("go", "skip"))
    assert visitor.status == 303 and len(stored()) == 1


def test_the_survey_closing_meanwhile_stores_nothing(survey_open, visitor) -> None:
    from appliance.survey.responses import close_now

    visitor.start()
    with database.connection_context():
        close_now(TODAY)
        SurveyResponse.delete().execute()
    visitor.submit(("go", "skip"))
    assert visitor.status == 200 and 'name="step"' not in visitor.page and stored() == []


# --- Altered or oversized forms ---------------------------------------------------------

BAD = {
    "unknown answer": [("a.gender", "robot"), ("go", "skip")],
    "unknown question": [("a.shoe_size", "42"), ("go", "skip")],
    "two answers to a one-answer question": [
        ("a.gender", "woman"),
        ("a.gender", "man"),
        ("go", "skip"),
    ],
    "same tick twice": [("a.devices", "tablet"), ("a.devices", "tablet"), ("go", "skip")],
    "a postal code smuggled as an answer": [("a.area", "1080"), ("go", "skip")],
    "unknown tapped answer": [("answer", "astronaut")],
    "unknown field": [("comment", "hello"), ("go", "skip")],
    "unknown move": [("go", "jump")],
    "long value": [("a.gender", "w" * 500), ("go", "skip")],
    "oversized form": [("a.devices", "tablet")] * 2000 + [("go", "skip")],
    "unknown language": [("lang", "xx")],
}


@pytest.mark.parametrize("extra", BAD.values(), ids=BAD.keys())
def test_an_altered_form_is_refused_in_the_visitors_language_and_nothing_stored(
    client, survey_open, visitor, extra
) -> None:
    in_language(client, "ar")
    visitor.start()
    for _ in range(14):
        visitor.submit(("go", "skip"))
    visitor.submit(*extra)
    assert visitor.status == 400, extra
    assert 'lang="ar" dir="rtl"' in visitor.page and 'role="alert"' in visitor.page
    assert stored() == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("step", "15"),
        ("step", "-1"),
        ("step", "abc"),
        ("step", ""),
        ("sheet", "short"),
        ("sheet", "<script>x</script>"),
    ],
)
def test_tampered_position_or_sheet_id_is_refused(
    survey_open, visitor, field: str, value: str
) -> None:
    visitor.start().tap("student")
    pairs = [(name, v) for name, v in visitor.hidden() if name != field]
    visitor.submit(*pairs, (field, value), ("go", "skip"), keep_hidden=False)
    assert visitor.status == 400 and stored() == []


def test_a_form_without_its_csrf_token_is_refused(survey_open, visitor) -> None:
    visitor.start()
    pairs = [(name, value) for name, value in visitor.hidden() if name != "csrf_token"]
    visitor.submit(*pairs, ("go", "skip"), keep_hidden=False)
    assert visitor.status == 400 and stored() == []


def test_no_answer_travels_in_the_address_bar_a_cookie_or_the_database(
    client, app, survey_open, visitor
) -> None:
    visitor.start().tap("student").tap("60_plus")
    assert 'method="post"' in visitor.page and "student" not in visitor.location
    cookie = client.get_cookie("epn_session").value
    session = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert set(session) == {"csrf_token"} and stored() == []
