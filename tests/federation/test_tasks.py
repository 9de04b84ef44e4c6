"""The periodic tasks: thin wrappers that build once a day and push when due, and that
never load the web app into the worker."""

import subprocess
import sys
from datetime import datetime, timedelta, timezone

from appliance.models import FederationLink, OutboxReport
from appliance.period import Period
from appliance.taskqueue import bind_queue


def test_the_task_module_does_not_import_the_web_app():
    code = ("import sys, appliance.tasks; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'werkzeug', 'jinja2', 'flask_babel'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_build_task_reports_closed_periods_once_a_day(enrolled):
    from appliance.tasks import build_reports

    bind_queue(enrolled, immediate=True)
    built = build_reports.call_local()
    assert built > 0 and OutboxReport.select().count() == built
    today = datetime.now(enrolled.tz).date()
    assert all(Period.parse(r.period).is_closed(today) for r in OutboxReport.select())
    assert FederationLink.get().built_on == today
    assert build_reports.call_local() == 0


def test_the_push_task_pushes_only_when_the_oldest_report_is_due(enrolled, hub):
    from appliance.tasks import build_reports, push_reports

    bind_queue(enrolled, immediate=True)
    built = build_reports.call_local()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    OutboxReport.update(next_attempt_at=now + timedelta(minutes=30)).execute()
    assert push_reports.call_local() == 0 and hub.accepted == []
    OutboxReport.update(next_attempt_at=now - timedelta(seconds=1)).execute()
    assert push_reports.call_local() == built
    assert len(hub.accepted) == built


def test_the_tasks_do_nothing_before_enrolment(db, config):
    from appliance.tasks import build_reports, push_reports

    bind_queue(config, immediate=True)
    assert build_reports.call_local() == 0 and push_reports.call_local() == 0
