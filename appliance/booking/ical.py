"""The public workshop programme as an iCalendar feed (RFC 5545), written by hand:
CRLF line ends, lines folded at 75 octets without splitting a UTF-8 character, text
escaped, a stable UID per session, times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from appliance.booking.catalogue import ends_of
from appliance.models import Workshop

PAST_DAYS = 31
FUTURE_DAYS = 366


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11)."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets (3.1), CRLF-terminated."""
    pieces, current, size = [], "", 0
    for char in line:
        length = len(char.encode("utf-8"))
        limit = 75 if not pieces else 74  # continuation lines start with one space
        if size + length > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += length
    pieces.append(current)
    return "\r\n ".join(pieces) + "\r\n"


def _utc(moment: datetime, tz: ZoneInfo) -> str:
    return moment.replace(tzinfo=tz).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(workshop: Workshop, tz: ZoneInfo, site: str, stamp: str) -> list[str]:
    details = [workshop.description, workshop.audience]
    lines = [
        "BEGIN:VEVENT",
        f"UID:{workshop.uid}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{_utc(workshop.starts, tz)}",
        f"DTEND:{_utc(ends_of(workshop), tz)}",
        f"SUMMARY:{escape_text(workshop.title)}",
        f"DESCRIPTION:{escape_text(chr(10).join(d for d in details if d))}",
        f"LOCATION:{escape_text(', '.join(p for p in (workshop.room, site) if p))}",
        f"STATUS:{'CANCELLED' if workshop.cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
    ]
    if workshop.language:
        lines.append(f"X-EPN-LANGUAGE:{workshop.language}")
    lines.append(f"CATEGORIES:{escape_text(workshop.level)}")
    lines.append("END:VEVENT")
    return lines


def workshops_calendar(now: datetime, tz: ZoneInfo, site: str) -> str:
    """The sessions from a month ago to a year ahead (cancelled ones marked so), as text."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    query = (Workshop.select()
             .where((Workshop.starts >= now - timedelta(days=PAST_DAYS))
                    & (Workshop.starts < now + timedelta(days=FUTURE_DAYS)))
             .order_by(Workshop.starts, Workshop.id))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//EPN appliance//Workshops//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(site)}",
             f"X-WR-TIMEZONE:{tz.key}"]
    for workshop in query:
        lines.extend(_event(workshop, tz, site, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)
