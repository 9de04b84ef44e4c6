"""Demo data of the laptop-thèque: a few devices, a loan in progress and an overdue one."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from appliance.config import LendingConfig
from appliance.lending.inventory import import_inventory, parse_inventory
from appliance.lending.loans import check_out
from appliance.models import Device, Member, StaffUser

DEMO_INVENTORY = """tag,kind,model,serial,accessories,funding,owner,acquired_on,owned_from,condition,notes
LT-001,laptop,Lenovo ThinkPad E14,PF4A1B01,charger|sleeve|mouse,Région de Bruxelles-Capitale,Région,2024-09-02,,good,
LT-002,laptop,Lenovo ThinkPad E14,PF4A1B02,charger|sleeve|mouse,Région de Bruxelles-Capitale,Région,2024-09-02,,good,
LT-003,laptop,Dell Latitude 3440,5CG3201,charger|sleeve,Commune,,2023-01-15,,worn,
CB-001,chromebook,Acer Chromebook 314,NXAUD01,charger,Région de Bruxelles-Capitale,Région,2024-09-02,,good,
TB-001,tablet,Samsung Galaxy Tab A9,R9WT01,charger|sleeve,,,2025-02-10,,new,
TB-002,tablet,Samsung Galaxy Tab A9,R9WT02,charger|sleeve,,,2025-02-10,,good,
ID-001,eid_reader,ACS ACR39U,ACR0001,,,,2022-05-01,,good,
BR-001,braille_keyboard,HumanWare Brailliant BI 20X,BI20X01,cable,Région de Bruxelles-Capitale,Région,2024-09-02,,good,
MS-001,ergonomic_mouse,Logitech Lift,LFT01,,,,2024-03-01,,good,
"""


def seed_lending(today: date, staff: StaffUser) -> None:
    """Import the demo inventory; lend a laptop (due in 10 days) and a tablet now 3 days late."""
    import_inventory(parse_inventory(DEMO_INVENTORY.encode()))
    # In the inventory since before the demo's weeks of history, so their reports count it.
    Device.update(created_at=datetime.combine(today - timedelta(days=90), time())).execute()
    members = {m.display_name: m for m in Member.select()}
    config = LendingConfig()
    morning = datetime.combine(today, time(10, 0))
    if "Mme Diallo" in members:
        check_out(
            "LT-001",
            members["Mme Diallo"],
            "home",
            staff,
            morning - timedelta(days=4),
            accept_terms=True,
            config=config,
        )
    if "Jan P." in members:
        check_out(
            "TB-001",
            members["Jan P."],
            "home",
            staff,
            morning - timedelta(days=17),
            accept_terms=True,
            due_day=today - timedelta(days=3),
            config=config,
        )
