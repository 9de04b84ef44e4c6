"""Signed self-update with rollback: `scripts/release.py` makes and signs a release on a
host; `epn update` on the appliance fetches it, verifies it, installs it beside the
running release, switches, and switches back by itself if /healthz fails afterwards."""
