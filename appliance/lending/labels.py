"""QR codes for the device labels: each holds the address of the device's staff page, so
a phone opens it and a USB reader types it into the desk's tag field."""

from __future__ import annotations

import io

import segno

LABELS_PER_SHEET = 24  # a plain A4 sheet of 3 x 8 labels (70 x 37 mm)


def qr_svg(text: str) -> str:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(
        buffer,
        kind="svg",
        scale=4,
        border=2,
        xmldecl=False,
        svgns=True,
        title=None,
        desc=None,
        svgclass="qr",
        lineclass=None,
    )
    return buffer.getvalue().decode("utf-8")


def sheets(items: list, skip: int = 0) -> list[list]:
    """Split labels into A4 sheets; `skip` leaves the first labels of a used sheet blank."""
    padded = [None] * skip + list(items)
    return [padded[i : i + LABELS_PER_SHEET] for i in range(0, len(padded), LABELS_PER_SHEET)] or [
        []
    ]
