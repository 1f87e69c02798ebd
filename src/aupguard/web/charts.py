"""Horizontal bar charts as inline SVG, drawn on the server (no chart library, no script)."""

from __future__ import annotations

from markupsafe import Markup, escape

ROW = 22
LABEL_W = 220
BAR_W = 360


def bar_chart(data: list[tuple[str, float]], *, unit: str = "") -> Markup:
    if not data:
        return Markup('<p class="muted">No data yet.</p>')
    top = max(v for _, v in data) or 1.0
    height = ROW * len(data) + 8
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {LABEL_W + BAR_W + 80} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet">'
    ]
    for i, (label, value) in enumerate(data):
        y = 4 + i * ROW
        width = max(1, round(BAR_W * value / top))
        shown = f"{value:.0f}{unit}" if unit else f"{value:g}"
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{width}" height="{ROW - 6}" class="bar">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text x="{LABEL_W + width + 6}" y="{y + 15}">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
