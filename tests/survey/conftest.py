"""Survey fixtures: the survey opened around the test clock, and a visitor who walks
through the pages the way a browser without JavaScript would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from appliance.db import database
from appliance.models import SurveyResponse
from tests.conftest import FIXED_NOW

TODAY = FIXED_NOW.date()
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
def survey_open(app) -> None:  # type: ignore[no-untyped-def]
    """The survey is open for the test clock's month."""
    from appliance.survey.responses import open_window

    with database.connection_context():
        open_window(date(2026, 11, 1), date(2026, 11, 30), TODAY)


def stored() -> list[SurveyResponse]:
    with database.connection_context():
        return list(SurveyResponse.select())


class Visitor:
    """Submits a page's form as a browser would: its hidden fields, plus what was tapped."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.page = ""
        self.status = 0

    def open(self, path: str = "/survey/") -> Visitor:
        response = self.client.get(path)
        self.status, self.page = response.status_code, response.get_data(as_text=True)
        return self

    def hidden(self) -> list[tuple[str, str]]:
        return HIDDEN.findall(self.page)

    def submit(self, *pairs: tuple[str, str], keep_hidden: bool = True) -> Visitor:
        data = MultiDict((self.hidden() if keep_hidden else []) + list(pairs))
        response = self.client.post("/survey/", data=data)
        self.status, self.page = response.status_code, response.get_data(as_text=True)
        self.location = response.headers.get("Location", "")
        return self

    def step(self) -> int:
        match = re.search(r'name="step" value="(\d+)"', self.page)
        return int(match.group(1)) if match else -1

    def tap(self, answer: str) -> Visitor:
        return self.submit(("answer", answer))

    def tick(self, question: str, *answers: str) -> Visitor:
        return self.submit(*[(f"a.{question}", answer) for answer in answers], ("go", "next"))

    def start(self) -> Visitor:
        return self.open().submit(("go", "start"))


@pytest.fixture
def visitor(client) -> Iterator[Visitor]:  # type: ignore[no-untyped-def]
    yield Visitor(client)
