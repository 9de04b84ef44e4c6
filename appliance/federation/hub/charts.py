"""Small bar charts as inline SVG, drawn on the server: no JavaScript, no CDN.

Each chart is an image with a title and a description (role="img", <title>, <desc>);
the page shows the same numbers in a table beside it. Colours come from style.css
classes (the Content-Security-Policy allows no inline style), presentation attributes
only for geometry.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 40


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^n at or above `value` (the axis' top)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f") if value >= 1000 or value == int(value) else f"{value:g}"


def bar_chart(chart_id: str, title: str, description: str,
              points: Sequence[tuple[str, float | None]], missing_text: str) -> Markup:
    """An SVG bar chart of `points` (label, value or None for not reported)."""
    top = nice_ceiling(max((v for _, v in points if v is not None), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)
    parts = [
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="chart-axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{_number(top * fraction)}</text>")
    for index, (label, value) in enumerate(points):
        x = LEFT + index * slot
        centre = x + slot / 2
        if value is None:
            parts.append(f'<text class="chart-missing" x="{centre:.1f}" y="{TOP + plot_h - 4:.1f}" '
                         f'text-anchor="middle">{escape(missing_text)}</text>')
        else:
            height = plot_h * value / top
            parts.append(f'<rect class="chart-bar" x="{x + slot * 0.15:.1f}" y="{TOP + plot_h - height:.1f}" '
                         f'width="{slot * 0.7:.1f}" height="{height:.1f}"/>')
        parts.append(f'<text class="chart-axis" x="{centre:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def short_label(period: str) -> str:
    """`W47` for 2026-W47, `11` for 2026-11, the year itself otherwise."""
    if "-W" in period:
        return period.split("-", 1)[1]
    if "-" in period:
        return period.split("-", 1)[1]
    return period
