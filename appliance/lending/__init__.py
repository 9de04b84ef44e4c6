"""The laptop-thèque: lending laptops, Chromebooks, tablets and accessibility devices,
from the inventory to the return, with the reset step that protects the next borrower.

Plain rules, no Flask: the staff pages, the JSON API and the CLI all call these
functions. Borrowers are members (appliance.members): one person table for every service.
"""

from __future__ import annotations

from appliance.lending.figures import figure_keys, figures
from appliance.lending.privacy import erase_member, export_member, purge
from appliance.registry import register_figures, register_personal_data

register_figures("lending", figures)
register_personal_data("lending", export=export_member, erase=erase_member, purge=purge)

__all__ = ["figure_keys", "figures"]
