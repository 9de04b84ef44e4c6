"""Lending fixtures: a small inventory and a borrower, around the test clock
(Tuesday 17 November 2026, 10:30)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appliance.config import LendingConfig
from appliance.lending.inventory import import_inventory, parse_inventory
from appliance.members import create_member
from appliance.models import Member, StaffUser
from tests.conftest import FIXED_NOW

NOW = FIXED_NOW
TODAY = NOW.date()
CONFIG = LendingConfig()
INVENTORY = (
    "tag,kind,model,serial,accessories,funding,owner,acquired_on,owned_from,condition,notes\n"
    "LT-001,laptop,Lenovo T14,SN1,charger|sleeve,Région bruxelloise,Région,2025-03-01,,good,\n"
    "LT-002,laptop,Lenovo T14,SN2,charger|sleeve,Région bruxelloise,Région,2025-03-01,,good,\n"
    "TB-001,tablet,Galaxy Tab A9,SN3,charger,,,,,new,\n"
    "BR-001,braille_keyboard,Orbit 20,SN4,cable,,,,,good,\n"
).encode()


def add_inventory() -> None:
    import_inventory(parse_inventory(INVENTORY))


def borrower(name: str = "Mme Diallo", category: str = "visitor") -> Member:
    return create_member(
        name, "0470 12 34 56", "fr", category, True, None, TODAY - timedelta(days=3)
    )


@pytest.fixture
def lending(db):  # type: ignore[no-untyped-def]
    """The inventory, a visitor who borrows and the mediator at the desk."""
    add_inventory()
    return {"member": borrower(), "staff": StaffUser.get(StaffUser.username == "mehdi")}
