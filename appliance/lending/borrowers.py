"""Who borrows: a member, found by the card scanned or a name typed at the desk."""

from __future__ import annotations

from appliance.errors import N_, InvalidInput
from appliance.members import find_members, is_valid_number, normalise_number
from appliance.models import Member


class SeveralMatches(InvalidInput):
    """More than one member matches what was typed: staff pick one of `candidates`."""

    def __init__(self, candidates: list[Member]) -> None:
        super().__init__("borrower", N_("Several people match: choose one."))
        self.candidates = candidates


def resolve_borrower(text: str) -> Member:
    """A scanned card number (with its check digit) or a name that matches one member."""
    text = text.strip()[:80]
    if not text:
        raise InvalidInput(
            "borrower", N_("Scan the member card, type a name, or register a new borrower.")
        )
    number = normalise_number(text)
    if len(number) == 9 and number == text.replace(" ", "").replace("-", ""):
        member = Member.get_or_none(Member.number == number) if is_valid_number(number) else None
        if member is None:
            raise InvalidInput(
                "borrower", N_("No member has the card number %(number)s."), number=text
            )
        return member
    found = find_members(text, limit=10)
    exact = [m for m in found if m.display_name.casefold() == text.casefold()]
    if len(exact) == 1:
        return exact[0]
    if not found:
        raise InvalidInput(
            "borrower", N_("Nobody matches %(text)s: register a new borrower below."), text=text
        )
    if len(found) == 1:
        return found[0]
    raise SeveralMatches(found)
