"""Importing past daily tallies (date,purpose,count) from a spreadsheet."""

import io
import subprocess
from datetime import date

import pytest

from appliance.db import database
from appliance.desk.tallies import TallyFileError, import_tallies, parse_tallies
from appliance.models import Visit
from tests.conftest import EPN

TODAY = date(2026, 11, 17)


def _import(text: str) -> int:
    return import_tallies(parse_tallies(text.encode(), TODAY))


def test_tallies_become_visits_with_unknown_hour_and_import_origin(db):
    assert _import("date,purpose,count\n2026-03-02,job_search,12\n2026-03-02,learning_ict,3\n") == 15
    assert Visit.select().where(Visit.source == "import", Visit.hour.is_null()).count() == 15
    assert Visit.select().where(Visit.day == date(2026, 3, 2), Visit.purpose == "job_search").count() == 12


def test_importing_the_same_date_and_purpose_again_replaces_the_count(db):
    _import("date,purpose,count\n2026-03-02,job_search,12\n")
    _import("date,purpose,count\n2026-03-02,job_search,7\n")
    assert Visit.select().count() == 7


def test_an_import_never_touches_visits_logged_at_the_desk(db):
    Visit.create(day=date(2026, 3, 2), hour=10, purpose="job_search", source="walk_in")
    _import("date,purpose,count\n2026-03-02,job_search,2\n")
    assert Visit.select().where(Visit.source == "walk_in").count() == 1


def test_semicolons_a_byte_order_mark_and_windows_line_ends_are_accepted(db):
    data = "\ufeffDate;Purpose;Count\r\n2026-03-02;admin_procedures;4\r\n\r\n".encode("utf-8")
    assert import_tallies(parse_tallies(data, TODAY)) == 4


def test_every_bad_row_is_reported_with_its_line_number_and_nothing_is_imported(db):
    text = (
        "date,purpose,count\n"
        "2026-03-02,job_search,12\n"
        "02/03/2026,job_search,3\n"
        "2026-03-03,gardening,3\n"
        "2026-03-04,job_search,-1\n"
        "2026-03-02,job_search,5\n"
        "2027-01-01,job_search,1\n"
        "2026-03-05,job_search\n"
    )
    with pytest.raises(TallyFileError) as problem:
        parse_tallies(text.encode(), TODAY)
    assert [e.line for e in problem.value.errors] == [3, 4, 5, 6, 7, 8]
    assert "same date and purpose as line 2" in str(problem.value)
    assert Visit.select().count() == 0


@pytest.mark.parametrize("text", ["", "day,why,n\n2026-03-02,job_search,1\n", "date,purpose,count\n"])
def test_a_file_without_the_header_or_rows_is_refused(db, text):
    with pytest.raises(TallyFileError):
        parse_tallies(text.encode(), TODAY)


def test_the_cli_imports_a_clean_file_and_prints_the_count_last(data_dir, tmp_path):
    csv = tmp_path / "tallies.csv"
    csv.write_text("date,purpose,count\n2026-03-02,job_search,12\n2026-03-03,leisure_culture_info,4\n")
    result = subprocess.run([EPN, "import", "visits", str(csv), "--data", str(data_dir)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "16"
    with database.connection_context():
        assert Visit.select().count() == 16


def test_the_cli_refuses_a_bad_file_with_the_line_number_and_imports_nothing(data_dir, tmp_path):
    csv = tmp_path / "tallies.csv"
    csv.write_text("date,purpose,count\n2026-03-02,job_search,12\n2026-03-03,job_search,many\n")
    result = subprocess.run([EPN, "import", "visits", str(csv), "--data", str(data_dir)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "line 3" in result.stderr and "nothing imported" in result.stderr
    with database.connection_context():
        assert Visit.select().count() == 0


def test_a_coordinator_uploads_the_file_on_the_import_page(client, auth):
    token = auth("coordinator")
    data = {"csrf_token": token, "file": (io.BytesIO(b"date,purpose,count\n2026-03-02,job_search,5\n"), "t.csv")}
    response = client.post("/staff/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    with database.connection_context():
        assert Visit.select().count() == 5


def test_a_bad_upload_lists_the_lines_in_the_users_language_and_imports_nothing(client, auth):
    token = auth("coordinator")
    client.get("/lang/en")
    data = {"csrf_token": token, "file": (io.BytesIO(b"date,purpose,count\n2026-13-02,job_search,5\n"), "t.csv")}
    response = client.post("/staff/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Line 2:" in response.get_data(as_text=True)
    with database.connection_context():
        assert Visit.select().count() == 0


def test_a_mediator_may_not_import(client, auth):
    token = auth("mediator")
    data = {"csrf_token": token, "file": (io.BytesIO(b"date,purpose,count\n2026-03-02,job_search,5\n"), "t.csv")}
    assert client.post("/staff/import", data=data, content_type="multipart/form-data").status_code == 403
