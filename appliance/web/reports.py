"""Reports to the hub: the link's state, the outbox, and "Push now" (coordinators)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from appliance.federation.link import FederationError
from appliance.federation.overview import hub_answer, overview
from appliance.web.forms import EmptyForm
from appliance.web.security import coordinator_required
from appliance.web.util import settings

if TYPE_CHECKING:
    from appliance.federation.push import PushSummary

bp = Blueprint("reports", __name__, url_prefix="/staff/reports")

STATUS_LABELS = {"pending": _l("Waiting to be sent"), "sent": _l("Sent"),
                 "parked": _l("Refused by the hub")}
HUB_WORDS = {"accepted": _l("accepted"), "duplicate": _l("already received"),
             "correction": _l("accepted as a correction")}


def local_time(moment: datetime | None) -> datetime | None:
    """A stored (naive UTC) time as the appliance's local time, for display."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(settings().tz).replace(tzinfo=None)


@bp.route("/")
@coordinator_required
def index():  # type: ignore[no-untyped-def]
    return render_template(
        "staff/reports.html", view=overview(settings()), push_form=EmptyForm(),
        hub_answer=hub_answer, local_time=local_time, status_labels=STATUS_LABELS,
        hub_words=HUB_WORDS,
    )


def _flash_summary(summary: "PushSummary") -> None:
    if summary.stopped == "busy":
        flash(_("A push is already running; try again in a minute."), "error")
    elif summary.stopped == "revoked":
        flash(_("The hub refused this appliance's key: nothing was sent."), "error")
    elif summary.waiting:
        flash(_("Sent: %(sent)s. Refused: %(parked)s. Still waiting: %(waiting)s (the hub did "
                "not accept them now; they are tried again later).", sent=summary.sent,
                parked=summary.parked, waiting=summary.waiting), "error")
    else:
        flash(_("Sent: %(sent)s. Refused: %(parked)s. Nothing is waiting.", sent=summary.sent,
                parked=summary.parked), "ok")


@bp.route("/push", methods=["POST"])
@coordinator_required
def push_now():  # type: ignore[no-untyped-def]
    if not EmptyForm().validate_on_submit():
        abort(400)
    # Imported here: the HTTP client is needed only when a coordinator pushes by hand,
    # not in every worker's memory.
    from appliance.federation.push import push_outbox

    config = settings()
    try:
        # A page must answer: stop starting new requests after one timeout's worth.
        summary = push_outbox(config, force=True,
                              deadline=time.monotonic() + config.federation.push_timeout_seconds)
    except FederationError:
        flash(_("This appliance is not enrolled with a hub."), "error")
    else:
        _flash_summary(summary)
    return redirect(url_for("reports.index"))
