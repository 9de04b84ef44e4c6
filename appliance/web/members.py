"""Members: register, find, show the card, export or erase one person's data."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from appliance.errors import InvalidInput, NotFound
from appliance.members import (
    card_svg,
    create_member,
    erase_member,
    export_member,
    find_members,
    format_number,
    get_member,
    update_member,
)
from appliance.web.forms import ConfirmForm, MemberForm, NewMemberForm
from appliance.web.security import login_required
from appliance.web.util import attach_error, local_now

bp = Blueprint("members", __name__, url_prefix="/staff/members")


@bp.app_template_filter("member_number")
def member_number_filter(number: str) -> str:
    return format_number(number)


def _member_or_404(member_id: int):  # type: ignore[no-untyped-def]
    try:
        return get_member(member_id)
    except NotFound:
        abort(404)


@bp.route("/")
@login_required
def index():  # type: ignore[no-untyped-def]
    query = request.args.get("q", "")[:80]
    return render_template("staff/members.html", members=find_members(query), query=query)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():  # type: ignore[no-untyped-def]
    form = NewMemberForm()
    if not form.validate_on_submit():
        return render_template("staff/member_new.html", form=form), 400 if request.method == "POST" else 200
    try:
        member = create_member(
            form.display_name.data, form.contact.data or "", form.language.data, form.category.data,
            form.terms_accepted.data, g.user if form.id_seen.data else None, local_now().date(),
        )
    except InvalidInput as error:
        attach_error(form, error, "display_name")
        return render_template("staff/member_new.html", form=form), 400
    flash(_("Member registered."), "ok")
    return redirect(url_for("members.show", member_id=member.id))


@bp.route("/<int:member_id>", methods=["GET", "POST"])
@login_required
def show(member_id: int):  # type: ignore[no-untyped-def]
    member = _member_or_404(member_id)
    form = MemberForm(obj=member)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                update_member(member_id, form.display_name.data, form.contact.data or "",
                              form.language.data, form.category.data)
                flash(_("Changes saved."), "ok")
                return redirect(url_for("members.show", member_id=member_id))
            except InvalidInput as error:
                attach_error(form, error, "display_name")
        status = 400
    return render_template("staff/member.html", member=member, form=form,
                           erase_form=ConfirmForm(formdata=None), qr=card_svg(member)), status


@bp.route("/<int:member_id>/card")
@login_required
def card(member_id: int):  # type: ignore[no-untyped-def]
    member = _member_or_404(member_id)
    return render_template("staff/member_card.html", member=member, qr=card_svg(member))


@bp.route("/<int:member_id>/export")
@login_required
def export(member_id: int):  # type: ignore[no-untyped-def]
    member = _member_or_404(member_id)
    body = json.dumps(export_member(member), ensure_ascii=False, indent=2, sort_keys=True)
    return Response(
        body, mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="member-{member.number}.json"'},
    )


@bp.route("/<int:member_id>/erase", methods=["POST"])
@login_required
def erase(member_id: int):  # type: ignore[no-untyped-def]
    member = _member_or_404(member_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("staff/member.html", member=member, form=MemberForm(obj=member),
                               erase_form=form, qr=card_svg(member)), 400
    erase_member(member, reason="request")
    flash(_("All data about this person has been erased."), "ok")
    return redirect(url_for("members.index"))
