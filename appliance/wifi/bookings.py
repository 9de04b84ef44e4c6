"""A booking code typed on the Wi-Fi portal: internet until the booking ends.

Uses the booking domain's own lookup (never its tables); the code itself is not kept by
the Wi-Fi session (kind "booking", nothing else)."""

from __future__ import annotations

from datetime import datetime, timedelta

from appliance.errors import N_, InvalidInput

EARLY = timedelta(minutes=30)  # a booking's code opens the Wi-Fi this long before it starts
VALID = ("booked", "checked_in")


def booking_minutes(code: str, local_now: datetime) -> int | None:
    """Minutes of internet a booking code gives now; None if it is no booking code at all;
    InvalidInput if it is one that cannot be used now (cancelled, over, not yet)."""
    try:
        from appliance.booking.bookings import find_by_code
    except ImportError:  # an appliance without the booking domain
        return None
    booking = find_by_code(code)
    if booking is None:
        return None
    if booking.status not in VALID or booking.ends <= local_now:
        raise InvalidInput("code", N_("This booking is over or was cancelled. Ask at the desk."))
    if booking.starts - EARLY > local_now:
        raise InvalidInput("code", N_("This booking has not started yet: come back at %(time)s."),
                           time=(booking.starts - EARLY).strftime("%H:%M"))
    return max(1, int((booking.ends - local_now).total_seconds() // 60))
