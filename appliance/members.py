"""Members: people the EPN knows by their own choice, and the one export/erase/purge path.

Every domain that keeps data about a member registers its export, erase and purge
functions in `appliance.registry`; this module runs them together.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from datetime import date, timedelta

import segno
from peewee import IntegrityError

from appliance.config import VISITOR_LANGUAGES, RetentionConfig
from appliance.db import database
from appliance.errors import N_, InvalidInput, NotFound
from appliance.models import Erasure, Member, StaffUser, utcnow
from appliance.registry import personal_data_handlers

CATEGORIES = ("visitor", "trainee", "partner")


def _luhn_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def new_member_number() -> str:
    """Eight random digits and a check digit: short to type, not guessable in sequence."""
    body = f"{secrets.randbelow(90_000_000) + 10_000_000}"
    return body + _luhn_digit(body)


def normalise_number(text: str) -> str:
    """What was typed or scanned (spaces, dashes) -> the stored number."""
    return "".join(char for char in text if char.isdigit())


def is_valid_number(number: str) -> bool:
    return len(number) == 9 and number.isdigit() and _luhn_digit(number[:8]) == number[8]


def format_number(number: str) -> str:
    return f"{number[:4]} {number[4:8]} {number[8:]}"


def _check_fields(display_name: str, contact: str, language: str, category: str) -> dict:
    display_name = display_name.strip()
    contact = contact.strip()
    if not display_name:
        raise InvalidInput("display_name", N_("Give a name or a nickname."))
    if len(display_name) > 80:
        raise InvalidInput("display_name", N_("At most %(n)s characters."), n=80)
    if len(contact) > 120:
        raise InvalidInput("contact", N_("At most %(n)s characters."), n=120)
    if language not in VISITOR_LANGUAGES:
        raise InvalidInput("language", N_("Choose a language from the list."))
    if category not in CATEGORIES:
        raise InvalidInput("category", N_("Choose a category from the list."))
    return {"display_name": display_name, "contact": contact, "language": language, "category": category}


def create_member(
    display_name: str,
    contact: str,
    language: str,
    category: str,
    terms_accepted: bool,
    id_seen_by: StaffUser | None,
    today: date,
) -> Member:
    """Register a member; the number is random, unique and has a check digit."""
    fields = _check_fields(display_name, contact, language, category)
    for _ in range(5):
        try:
            with database.atomic():
                return Member.create(
                    number=new_member_number(),
                    terms_accepted_on=today if terms_accepted else None,
                    id_seen=id_seen_by is not None,
                    id_seen_by=id_seen_by,
                    created_on=today,
                    last_active_on=today,
                    **fields,
                )
        except IntegrityError:
            continue  # the random number was taken: draw another
    raise RuntimeError("could not draw a free member number")


def update_member(member_id: int, display_name: str, contact: str, language: str, category: str) -> Member:
    fields = _check_fields(display_name, contact, language, category)
    member = get_member(member_id)
    with database.atomic():
        Member.update(**fields).where(Member.id == member.id).execute()
    return get_member(member_id)


def get_member(member_id: int) -> Member:
    member = Member.get_or_none(Member.id == member_id)
    if member is None:
        raise NotFound(member_id)
    return member


def find_members(query: str, limit: int = 50) -> list[Member]:
    """Members whose number or name matches what staff typed or scanned."""
    query = query.strip()[:80]
    if not query:
        return list(Member.select().order_by(Member.last_active_on.desc()).limit(limit))
    number = normalise_number(query)
    condition = Member.display_name.contains(query)
    if len(number) >= 4:
        condition |= Member.number.startswith(number)
    return list(Member.select().where(condition).order_by(Member.display_name).limit(limit))


def card_svg(member: Member) -> str:
    """The member card's QR code (the number only) as inline SVG."""
    buffer = io.BytesIO()
    segno.make(member.number, error="m").save(
        buffer, kind="svg", scale=6, border=2, xmldecl=False, svgns=True,
        title=None, desc=None, svgclass="qr", lineclass=None,
    )
    return buffer.getvalue().decode("utf-8")


def _member_record(member: Member) -> dict:
    return {
        "number": member.number,
        "display_name": member.display_name,
        "contact": member.contact,
        "language": member.language,
        "category": member.category,
        "terms_accepted_on": member.terms_accepted_on.isoformat() if member.terms_accepted_on else None,
        "id_seen": member.id_seen,
        "created_on": member.created_on.isoformat(),
        "last_active_on": member.last_active_on.isoformat(),
    }


def export_member(member: Member) -> dict:
    """Everything the appliance holds about one member, by domain."""
    data = {"member": _member_record(member)}
    for handler in personal_data_handlers():
        data[handler.domain] = handler.export(member)
    return data


def _digest(number: str) -> str:
    return hashlib.sha256(f"epn-member:{number}".encode()).hexdigest()


def erase_member(member: Member, reason: str = "request") -> None:
    """Erase one member and every domain's data about them, all or nothing."""
    with database.atomic():
        for handler in personal_data_handlers():
            handler.erase(member)
        Erasure.create(member_digest=_digest(member.number), reason=reason)
        member.delete_instance()


def reapply_erasures(since) -> int:
    """After a restore: erase again every member erased since `since` (a UTC datetime)."""
    digests = {e.member_digest for e in Erasure.select().where(Erasure.erased_at >= since)}
    erased = 0
    for member in list(Member.select()):
        if _digest(member.number) in digests:
            erase_member(member, reason="request")
            erased += 1
    return erased


def purge_expired(today: date, retention: RetentionConfig) -> dict[str, int]:
    """The retention task: erase members inactive too long, then each domain's own purge."""
    limit = today - timedelta(days=retention.member_days)
    expired = list(Member.select().where(Member.last_active_on < limit))
    for member in expired:
        erase_member(member, reason="retention")
    counts = {"members": len(expired)}
    for handler in personal_data_handlers():
        counts[handler.domain] = handler.purge(today, retention)
    old = utcnow() - timedelta(days=retention.erasure_log_days)
    counts["erasure_log"] = Erasure.delete().where(Erasure.erased_at < old).execute()
    return counts
