"""The walk-in help queue: tickets, calls, served visits; its report figures and retention."""

from __future__ import annotations

from datetime import date

from peewee import fn

from appliance.helpqueue.tickets import (
    ORIGINS,
    STATES,
    Place,
    QueueClosed,
    TooManyTickets,
    call_next,
    cancel_ticket,
    check_counter,
    check_kind,
    check_open,
    client_digest,
    last_called,
    mark_absent,
    mark_served,
    place_of,
    purge_tickets,
    purpose_of,
    put_back,
    recall,
    take_ticket,
    ticket_by_token,
    tickets_on,
    waiting_count,
)
from appliance.models import Member, QueueTicket
from appliance.period import Period
from appliance.registry import register_figures, register_personal_data

DEFAULT_TICKET_DAYS = 62


def figures(period: Period) -> dict[str, int]:
    """Tickets taken, served and absent in the period, and the total minutes the served
    ones waited (a sum, so the hub can compute a mean after merging EPNs).

    A period without any ticket reports nothing (absent, not 0): an EPN that does not
    use the queue must not pull the region's means down."""
    in_period = (QueueTicket.day >= period.start) & (QueueTicket.day < period.end)
    out = {"queue.tickets": 0, "queue.served": 0, "queue.absent": 0, "queue.wait_minutes": 0}
    for state, n in (
        QueueTicket.select(QueueTicket.state, fn.COUNT(QueueTicket.id))
        .where(in_period)
        .group_by(QueueTicket.state)
        .tuples()
    ):
        out["queue.tickets"] += n
        if state in ("served", "absent"):
            out[f"queue.{state}"] = n
    waited = (
        QueueTicket.select(fn.COALESCE(fn.SUM(QueueTicket.waited_seconds), 0))
        .where(in_period & (QueueTicket.state == "served"))
        .scalar()
    )
    out["queue.wait_minutes"] = int(waited or 0) // 60
    return out if out["queue.tickets"] else {}


def _ticket_days() -> int:
    from appliance.taskqueue import runtime

    config = runtime.get("config")
    return config.queue.ticket_days if config is not None else DEFAULT_TICKET_DAYS


def purge(today: date, retention: object) -> int:
    """The retention task: tickets older than queue.ticket_days go (counts stay in reports)."""
    return purge_tickets(today, _ticket_days())


def export_member(member: Member) -> list:
    """Nothing: a ticket holds no name and is linked to no member."""
    return []


def erase_member(member: Member) -> int:
    """0: a ticket is linked to no member."""
    return 0


register_figures("helpqueue", figures)
register_personal_data("helpqueue", export=export_member, erase=erase_member, purge=purge)

__all__ = [
    "ORIGINS", "STATES", "Place", "QueueClosed", "TooManyTickets", "call_next",
    "cancel_ticket", "check_counter", "check_kind", "check_open", "client_digest", "figures",
    "last_called", "mark_absent", "mark_served", "place_of", "purge", "purge_tickets",
    "purpose_of", "put_back", "recall", "take_ticket", "ticket_by_token", "tickets_on",
    "waiting_count",
]
