"""The coordination's dashboard (signed in), its exports and yearly summary, publication
of closed periods, and the public page of published figures (no sign-in)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from appliance.config import Config
from appliance.errors import InvalidInput
from appliance.federation.hub import dashboard as dash
from appliance.federation.hub.charts import bar_chart, short_label
from appliance.federation.hub.epns import naive_utc
from appliance.federation.hub.export import CSV_HEADER, parse_periods
from appliance.federation.hub.web import admin_required, login_required
from appliance.federation.hub.web.hub_labels import HEADLINE_LABELS, labels
from appliance.period import Period
from appliance.web.forms import EmptyForm
from appliance.web.util import translate

bp = Blueprint("hub_dashboard", __name__)
# A range export is answered period by period: a year of weeks at most per request.
MAX_EXPORT_PERIODS = 60


@bp.app_context_processor
def dashboard_labels() -> dict[str, object]:
    return labels()


def settings() -> Config:
    return current_app.extensions["epn_config"]


def now_utc() -> datetime:
    return naive_utc(current_app.extensions["hub_clock"]())


def today() -> date:
    return current_app.extensions["hub_clock"]().astimezone(settings().tz).date()


def bad_request(message: str, status: int = 400):  # type: ignore[no-untyped-def]
    return render_template("hub/error.html", status=status, message=message), status


def build(period: Period, trends: bool = True) -> dict:
    return dash.build_dashboard(period, settings().tz, settings().hub.on_time_days, trends)


def trend_charts(dashboard: dict) -> list[dict]:
    """One chart (and its table) per headline figure reported in at least one period."""
    charts = []
    missing = _("n/r")
    for headline in dash.HEADLINES:
        points = [(short_label(p["period"]), p[headline.code]) for p in dashboard["trend"]]
        if all(value is None for _, value in points):
            continue
        title = str(HEADLINE_LABELS[headline.code])
        description = _("%(figure)s from %(first)s to %(last)s, one bar per period.", figure=title,
                        first=dashboard["trend"][0]["period"], last=dashboard["trend"][-1]["period"])
        charts.append({"code": headline.code, "title": title,
                       "svg": bar_chart(f"chart-{headline.code}", title, description, points, missing)})
    return charts


@bp.route("/dashboard")
@login_required
def home():  # type: ignore[no-untyped-def]
    typed = request.args.get("period", "")
    try:
        period = dash.parse_period(typed, today())
    except InvalidInput as error:
        return render_template("hub/dashboard.html", data=None, typed=typed[:20], error=translate(error)), 400
    data = build(period)
    return render_template("hub/dashboard.html", data=data, typed=str(period), error=None, period=period,
                           charts=trend_charts(data), closed=period.is_closed(today()),
                           published=dash.is_published(period), form=EmptyForm(),
                           neighbours=(period.previous(), period.next()), kinds=_kinds(period))


def _kinds(period: Period) -> list[Period]:
    """The week, month and year around the period's first day."""
    return [Period.containing(period.start, kind) for kind in ("week", "month", "year")]


def _export_periods() -> list[Period]:
    args = request.args
    try:
        periods = parse_periods(args.get("period"), args.get("from"), args.get("to"))
    except ValueError:
        abort(400)
    if len(periods) > MAX_EXPORT_PERIODS:
        abort(400)
    return periods


@bp.route("/dashboard/export.csv")
@login_required
def export_csv():  # type: ignore[no-untyped-def]
    periods = _export_periods()
    return _csv_response(dash.build_range(periods, settings().tz, settings().hub.on_time_days),
                         f"dashboard-{periods[0]}" + (f"-{periods[-1]}" if len(periods) > 1 else ""))


def _csv_response(dashboards: list[dict], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for data in dashboards:
        writer.writerows(dash.dashboard_rows(data))
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.route("/dashboard/export.json")
@login_required
def export_json():  # type: ignore[no-untyped-def]
    periods = _export_periods()
    dashboards = dash.build_range(periods, settings().tz, settings().hub.on_time_days)
    return jsonify(dash.export_document(settings().hub.name, dashboards))


def _summary_year() -> Period:
    text = request.args.get("year") or str(today().year - 1)
    try:
        period = Period.parse(text[:10])
    except (ValueError, OverflowError):
        abort(400)
    if period.kind != "year":
        abort(400)
    return period


@bp.route("/dashboard/summary")
@login_required
def summary():  # type: ignore[no-untyped-def]
    year = _summary_year()
    data = build(year)
    weeks = dash.timeliness(_weeks_of(year), settings().tz, settings().hub.on_time_days, now_utc())
    months = dash.timeliness(dash.trend_periods(year), settings().tz, settings().hub.on_time_days, now_utc())
    return render_template("hub/summary.html", data=data, year=year, charts=trend_charts(data),
                           weeks=_sum_rows(weeks), months=_sum_rows(months))


def _weeks_of(year: Period) -> list[Period]:
    """The ISO weeks that start in the year."""
    first = Period.containing(year.start, "week")
    weeks = [first] if first.start >= year.start else []
    week = first.next()
    while week.start < year.end:
        weeks.append(week)
        week = week.next()
    return weeks


def _sum_rows(rows: list[dict]) -> dict[str, int]:
    keys = ("expected", "on_time", "late", "missing", "awaited")
    return {key: sum(row[key] for row in rows) for key in keys}


@bp.route("/dashboard/summary.csv")
@login_required
def summary_csv():  # type: ignore[no-untyped-def]
    year = _summary_year()
    return _csv_response([build(year)], f"summary-{year}")


@bp.route("/dashboard/publish", methods=["POST"])
@admin_required
def publish():  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        period = dash.parse_period(request.form.get("period") or "-", today())
    except InvalidInput:
        abort(400)
    if request.form.get("action") == "unpublish":
        if dash.unpublish(period, g.account, now_utc()):
            flash(_("%(period)s is no longer on the public page.", period=str(period)), "success")
    else:
        try:
            if dash.publish(period, g.account, today(), now_utc()):
                flash(_("%(period)s is now on the public page.", period=str(period)), "success")
        except InvalidInput as error:
            return bad_request(translate(error))
    return redirect(url_for("hub_dashboard.home", period=str(period)))


@bp.route("/")
def public():  # type: ignore[no-untyped-def]
    published = dash.published_periods()
    typed = request.args.get("period") or (published[0] if published else "")
    data = None
    if typed:
        try:
            period = Period.parse(typed[:20])
        except (ValueError, OverflowError):
            return bad_request(_("This is not a period: use 2026-W47, 2026-11 or 2026."))
        if str(period) not in published:
            abort(404)
        data = dash.public_view(build(period, trends=False))
    return render_template("hub/public.html", data=data, published=published)
