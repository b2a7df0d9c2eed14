"""Charts as inline SVG, drawn on the server: no script, no library, no CDN.

Colours and sizes are SVG attributes and classes from admin.css, so the
Content-Security-Policy needs no inline styles. Every mark carries its
figure in ``data-value`` and a ``<title>`` tooltip.
"""

from markupsafe import Markup, escape

WIDTH = 640
PALETTE = ("#2f6f4e", "#c9822b", "#8a4f9e", "#3d6fb6", "#b8433b", "#6b7b2a")


def _number(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def money(currency: str):
    """A formatter for minor units of a two-decimal currency: 123456 → "1,234.56 USD"."""
    return lambda value: f"{value / 100:,.2f} {currency}"


def _svg(name: str, title: str, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(body) + "</svg>"
    )


def horizontal_bars(name: str, title: str, rows: list[tuple[str, int]]) -> Markup:
    """One bar per row, labelled on the left, the figure at its end."""
    bar, gap, left = 24, 10, 150
    height = max(1, len(rows)) * (bar + gap) + gap
    top = max([value for _, value in rows] + [1])
    body = []
    for index, (label, value) in enumerate(rows):
        y = gap + index * (bar + gap)
        length = round((WIDTH - left - 80) * max(value, 0) / top)
        body.append(
            f'<text class="label" x="{left - 8}" y="{y + bar * 0.7:.1f}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{left}" y="{y}" width="{length}" height="{bar}" '
            f'fill="{PALETTE[index % len(PALETTE)]}" data-label="{escape(label)}" data-value="{value}">'
            f"<title>{escape(label)}: {_number(value)}</title></rect>"
            f'<text class="figure" x="{left + length + 6}" y="{y + bar * 0.7:.1f}">{_number(value)}</text>'
        )
    return _svg(name, title, height, body)


def grouped_columns(name: str, title: str, labels: list[str], series: dict[str, list[int]]) -> Markup:
    """Columns per period, one per series, with a legend and a zero line."""
    height, top_pad, bottom, left = 260, 30, 40, 56
    plot = height - top_pad - bottom
    peak = max([v for values in series.values() for v in values] + [1])
    slot = (WIDTH - left - 10) / max(len(labels), 1)
    width = max(2.0, (slot - 6) / max(len(series), 1))
    body = _axis(left, top_pad, plot, peak)
    for s, (key, values) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        body.append(f'<rect x="{left + s * 130}" y="6" width="12" height="12" fill="{colour}"/>'
                    f'<text class="legend" x="{left + s * 130 + 16}" y="16">{escape(key)}</text>')
        for i, value in enumerate(values):
            h = plot * max(value, 0) / peak
            x = left + i * slot + 3 + s * width
            body.append(
                f'<rect class="column" x="{x:.1f}" y="{top_pad + plot - h:.1f}" width="{width:.1f}" '
                f'height="{h:.1f}" fill="{colour}" data-series="{escape(key)}" data-label="{escape(labels[i])}" '
                f'data-value="{value}"><title>{escape(key)}, {escape(labels[i])}: {_number(value)}</title></rect>'
            )
    body += _x_labels(labels, left, slot, height - bottom + 16)
    return _svg(name, title, height, body)


def line(name: str, title: str, labels: list[str], values: list[int], fmt=_number) -> Markup:
    height, top_pad, bottom, left = 240, 20, 40, 90
    plot = height - top_pad - bottom
    peak = max(values + [1])
    low = min(values + [0])
    span = max(peak - low, 1)
    slot = (WIDTH - left - 20) / max(len(values) - 1, 1)
    points = [(left + i * slot, top_pad + plot - plot * (v - low) / span) for i, v in enumerate(values)]
    body = _axis(left, top_pad, plot, peak, fmt)
    if points:
        body.append('<polyline class="line" fill="none" stroke="#3d6fb6" stroke-width="2" points="'
                    + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
    for (x, y), label, value in zip(points, labels, values, strict=True):
        body.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#3d6fb6" '
                    f'data-label="{escape(label)}" data-value="{value}">'
                    f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>")
    body += _x_labels(labels, left - slot / 2, slot, height - bottom + 16)
    return _svg(name, title, height, body)


def _axis(left: int, top: int, plot: int, peak: int, fmt=_number) -> list[str]:
    parts = []
    for fraction in (0, 0.5, 1):
        y = top + plot - plot * fraction
        parts.append(f'<line class="grid" x1="{left}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#ddd"/><text class="tick" x="{left - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(fmt(round(peak * fraction)))}</text>')
    return parts


def _x_labels(labels: list[str], left: float, slot: float, y: int) -> list[str]:
    every = max(1, len(labels) // 8)
    return [f'<text class="tick" x="{left + i * slot + slot / 2:.1f}" y="{y}" text-anchor="middle">'
            f"{escape(label)}</text>" for i, label in enumerate(labels) if i % every == 0]
