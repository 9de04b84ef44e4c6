"""The captive portal, visitors' side: every OS's connectivity probe, the landing page
(house rules, one big button, an optional voucher), resuming a session on a new address,
and the RFC 8908 Captive Portal API.

A probe answers "portal" (a redirect to the landing page) while the device has no
session, and the success answer the OS expects once it has one. Requests from the
visitors' network for another host (redirected here by nftables) go to the landing page;
staff pages and the JSON API do not answer the visitors' network at all.

The pages need no JavaScript and no cookie: captive browsers often keep neither, so the
acceptance form carries no CSRF token (it can only open access for the device that sends
it, which is what it is for) and the device is recognised by its address.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from appliance.errors import InvalidInput
from appliance.hardware.firewall import FirewallError, firewall_for
from appliance.hardware.network import appliance_address, mac_lookup_for, portal_base
from appliance.web.security import STAFF_BLUEPRINTS, csrf
from appliance.web.util import local_now, settings, translate
from appliance.wifi import sessions
from appliance.wifi.limits import AttemptLimiter, TooManyAttempts

bp = Blueprint("captive", __name__)
log = logging.getLogger("appliance.web")

APPLE_SUCCESS = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
FIREFOX_SUCCESS = ('<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/'
                   'kb/captive-portal"/>')
# path -> (status, content type, body) of the success answer each OS expects.
PROBES: dict[str, tuple[int, str, str]] = {
    "/generate_204": (204, "text/plain", ""),  # Android, ChromeOS, Chrome
    "/gen_204": (204, "text/plain", ""),
    "/mobile/status.php": (204, "text/plain", ""),  # Android (some vendors)
    "/hotspot-detect.html": (200, "text/html", APPLE_SUCCESS),  # iOS, macOS
    "/library/test/success.html": (200, "text/html", APPLE_SUCCESS),
    "/connecttest.txt": (200, "text/plain", "Microsoft Connect Test"),  # Windows 10/11
    "/ncsi.txt": (200, "text/plain", "Microsoft NCSI"),  # older Windows
    "/canonical.html": (200, "text/html", FIREFOX_SUCCESS),  # Firefox
    "/success.txt": (200, "text/plain", "success\n"),  # Firefox
    "/nm": (200, "text/plain", "NetworkManager is online\n"),  # Debian's NetworkManager
    "/check_network_status.txt": (200, "text/plain", "NetworkManager is online\n"),  # Arch, KDE
    "/static/hotspot.txt": (200, "text/plain", "OK"),  # Fedora's NetworkManager
}
LANDING = "/portal/wifi"


# --- Who is asking ------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _firewall():  # type: ignore[no-untyped-def]
    return firewall_for(settings())


def _client(with_mac: bool = False) -> sessions.Client:
    """The device asking, by its address; with its MAC (from the neighbour table, a
    command run) only when access is being opened, not on every probe."""
    try:
        client = sessions.Client.of(request.remote_addr or "")
    except ValueError:
        abort(400)
    if not with_mac:
        return client
    try:
        mac = mac_lookup_for(settings())(client.ip)
    except ValueError:
        mac = ""
    return sessions.Client(client.ip, mac)


def _limiter() -> AttemptLimiter:
    limiter = current_app.extensions.get("epn_wifi_limiter")
    if limiter is None:
        limiter = AttemptLimiter(settings().wifi.accepts_per_minute)
        current_app.extensions["epn_wifi_limiter"] = limiter
    return limiter


def _portal_hosts() -> set[str]:
    wifi = settings().wifi
    hosts = {appliance_address(wifi.subnet_v4)}
    if wifi.subnet_v6:
        hosts.add(f"[{appliance_address(wifi.subnet_v6)}]")
    for extra in (wifi.portal_host, urlsplit(wifi.https_url).hostname or ""):
        if extra:
            hosts.add(extra.lower())
    return hosts


def _from_visitors() -> bool:
    return sessions.in_visitor_network(request.remote_addr or "", settings().wifi)


@bp.before_app_request
def guard_visitor_network():  # type: ignore[no-untyped-def]
    """From the visitors' network: no staff page, no API; another host's page (nftables
    redirected it here) goes to the landing page; probes answer for themselves."""
    if not _from_visitors():
        return None
    if request.blueprint in STAFF_BLUEPRINTS or request.path.startswith(("/staff", "/api/")):
        abort(404)
    if request.path in PROBES or request.endpoint == "static":
        return None
    host = (request.host or "").lower()
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if host not in _portal_hosts():
        return redirect(portal_base(settings().wifi) + LANDING, 302)
    return None


# --- The probes ----------------------------------------------------------------------


def _landing_url() -> str:
    """The landing page's full address for a visitor device (whatever host it asked for);
    a plain path elsewhere (the demo on localhost)."""
    if _from_visitors():
        return portal_base(settings().wifi) + LANDING
    return url_for("captive.landing")


def _probe() -> Response:
    if sessions.current_session(_client(), _now()) is None or sessions.is_paused():
        response = redirect(_landing_url(), 302)
    else:
        status, kind, body = PROBES[request.path]
        response = Response(body, status=status, content_type=kind)
    response.headers["Cache-Control"] = "no-store"
    return response


for _path in PROBES:
    bp.add_url_rule(_path, "probe" + _path.replace("/", "_").replace(".", "_"), _probe)


# --- The landing page and acceptance --------------------------------------------------


def _links() -> dict[str, str]:
    """Links to the other visitor services, those installed on this appliance."""
    wanted = {"book": "booking.home", "print": "printing.home", "survey": "survey.start",
              "home": "portal.home"}
    found = {}
    for key, endpoint in wanted.items():
        if endpoint in current_app.view_functions:
            found[key] = url_for(endpoint)
    return found


CACHE_SECONDS = 30


def _cached_landing(paused: bool) -> str:
    """The landing page of a device without a session, the same for every phone in one
    language: rendered once per language and half-minute (every new phone asks for it)."""
    cache = current_app.extensions.setdefault("epn_wifi_landing", {})
    key = (str(get_locale()), paused)
    expires, html = cache.get(key, (0.0, ""))
    if expires < time.monotonic():
        html = render_template("wifi/landing.html", session=None, paused=paused,
                               minutes=settings().wifi.session_minutes, left=0, error=None,
                               error_field="", typed={}, links=_links())
        cache[key] = (time.monotonic() + CACHE_SECONDS, html)
    return html


def _landing(error: str | None = None, field: str = "", typed: dict | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    now = _now()
    session = sessions.current_session(_client(), now)
    if session is None and error is None:
        return _cached_landing(sessions.is_paused()), status
    return render_template(
        "wifi/landing.html", session=session, paused=sessions.is_paused(),
        minutes=settings().wifi.session_minutes, left=sessions.seconds_left(session, now) // 60,
        error=error, error_field=field, typed=typed or {}, links=_links(),
    ), status


@bp.route(LANDING)
def landing():  # type: ignore[no-untyped-def]
    return _landing()


def _attempt(action):  # type: ignore[no-untyped-def]
    """Run an acceptance with the flood limit and the visitor-facing error messages."""
    typed = {k: request.form.get(k, "")[:40] for k in ("code", "resume_code")}
    client = _client(with_mac=True)
    try:
        _limiter().check(client.ip)
        action(client)
    except TooManyAttempts:
        return _landing(_("Too many attempts. Wait a minute and try again."), "", typed, 429)
    except sessions.WifiPaused:
        return _landing(_("The Wi-Fi is paused for now. Ask at the desk."), "", typed, 409)
    except InvalidInput as error:
        return _landing(translate(error), error.field, typed, 400)
    except FirewallError:
        log.error("wifi: the firewall refused an acceptance")  # no address, no code
        return _landing(_("The Wi-Fi does not answer. Ask at the desk."), "", typed, 503)
    return redirect(url_for("captive.welcome"), 303)


@bp.route(LANDING + "/accept", methods=["POST"])
@csrf.exempt
def accept():  # type: ignore[no-untyped-def]
    code = request.form.get("code", "")[:40]
    if request.form.get("rules") != "yes":
        return _landing(_("Tick the box to accept the house rules."), "rules",
                        {"code": code}, 400)
    wifi, firewall = settings().wifi, _firewall()
    here = local_now()
    return _attempt(lambda client: sessions.accept(
        client, _now(), here.date(), wifi, firewall, voucher_code=code, local_now=here))


@bp.route(LANDING + "/resume", methods=["POST"])
@csrf.exempt
def resume():  # type: ignore[no-untyped-def]
    code = request.form.get("resume_code", "")[:40]
    firewall = _firewall()
    return _attempt(lambda client: sessions.resume(client, code, _now(), firewall))


@bp.route(LANDING + "/welcome")
def welcome():  # type: ignore[no-untyped-def]
    now = _now()
    session = sessions.current_session(_client(), now)
    if session is None:
        return redirect(url_for("captive.landing"), 303)
    wifi = settings().wifi
    left_bytes = sessions.bytes_left(session, wifi)
    response = Response(render_template(
        "wifi/welcome.html", session=session, left=sessions.seconds_left(session, now) // 60,
        megabytes_left=None if left_bytes is None else left_bytes // 1_000_000, links=_links(),
    ))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- RFC 8908 ------------------------------------------------------------------------


@bp.route("/captive-portal/api")
def captive_api():  # type: ignore[no-untyped-def]
    """The Captive Portal API (RFC 8908), at the address DHCP announces (RFC 8910)."""
    wifi = settings().wifi
    now = _now()
    session = sessions.current_session(_client(), now)
    captive = session is None or sessions.is_paused()
    base = wifi.https_url or portal_base(wifi)
    body: dict = {
        "captive": captive,
        "user-portal-url": base + LANDING,
        "venue-info-url": wifi.venue_info_url or base + "/",
    }
    if session is not None:
        body["seconds-remaining"] = sessions.seconds_left(session, now)
        left = sessions.bytes_left(session, wifi)
        if left is not None:
            body["bytes-remaining"] = left
        body["can-extend-session"] = sessions.can_extend(session, now)
    response = Response(json.dumps(body), content_type="application/captive+json")
    response.headers["Cache-Control"] = "private, no-store"
    return response

