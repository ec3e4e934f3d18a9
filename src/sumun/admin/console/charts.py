"""Charts drawn on the server as inline SVG: no script library, nothing fetched from outside.

The console's CSP forbids inline styles, so every colour comes from a CSS class (`tone`, styled
in `static/overview.css`) and geometry from presentation attributes — never `style=`. Each chart
is an `<svg role="img">` labelled by its own `<title>` and `<desc>` (the desc states the
figures a screen reader needs), and each time bucket carries a `<title>` that a pointer shows
as a tooltip. Text is escaped here (`markupsafe`), so the result is safe to put in a template.

Three shapes, all over the same time axis as the usage API's buckets:

    line_chart      one or more lines (requests, tokens, latency p50/p99); gaps where a
                    bucket has no value
    stacked_chart   bars stacked per bucket (decisions over time)
    bar_list        one horizontal bar per name (a breakdown by tenant or provider)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape

__all__ = ["Series", "bar_list", "compact", "line_chart", "stacked_chart"]

_W, _H = 640, 200  # viewBox; the SVG scales to its box (CSS)
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 10, 10, 24
_TICKS = 4  # horizontal grid lines above zero
_X_LABELS = 6

Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: Sequence[float | None]
    tone: str  # a CSS class: the series' colour


def compact(value: float) -> str:
    """1234 → 1.2k, 3_400_000 → 3.4M: figures that fit an axis and stay readable."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            text = f"{value / size:.1f}".removesuffix(".0")
            return f"{text}{suffix}"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.1f}"


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ value (an axis' top)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover


def _time_label(seconds: int, span: int) -> str:
    when = datetime.fromtimestamp(seconds, UTC)
    return when.strftime("%m-%d %H:%M") if span >= 3600 else when.strftime("%H:%M")


class _Frame:
    """The plot area and its scales for `n` buckets and a y range [0, top]."""

    def __init__(self, n: int, top: float) -> None:
        self.n = max(n, 1)
        self.top = top
        self.width = _W - _LEFT - _RIGHT
        self.height = _H - _TOP - _BOTTOM
        self.step = self.width / self.n

    def x(self, i: int) -> float:
        return _LEFT + self.step * (i + 0.5)

    def y(self, value: float) -> float:
        return _TOP + self.height * (1 - value / self.top)


def _open(ident: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" preserveAspectRatio="xMidYMid meet"'
        f' aria-labelledby="{escape(ident)}-t {escape(ident)}-d" id="{escape(ident)}">',
        f'<title id="{escape(ident)}-t">{escape(title)}</title>',
        f'<desc id="{escape(ident)}-d">{escape(desc)}</desc>',
    ]


def _axes(frame: _Frame, times: Sequence[int], span: int, fmt: Format) -> list[str]:
    out = ['<g class="axis" aria-hidden="true">']
    for k in range(_TICKS + 1):
        value = frame.top * k / _TICKS
        y = frame.y(value)
        out.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(value))}</text>"
        )
    if times:
        every = max(1, len(times) // _X_LABELS)
        for i in range(0, len(times), every):
            out.append(
                f'<text class="tick" x="{frame.x(i):.1f}" y="{_H - 6}" text-anchor="middle">'
                f"{escape(_time_label(times[i], span))}</text>"
            )
    out.append("</g>")
    return out


def _hover(
    frame: _Frame, times: Sequence[int], span: int, series: Sequence[Series], fmt: Format
) -> list[str]:
    """A transparent column per bucket whose <title> lists that bucket's figures."""
    out = ['<g class="hover">']
    for i, at in enumerate(times):
        parts = [
            f"{s.label} {fmt(v)}"
            for s in series
            if i < len(s.values) and (v := s.values[i]) is not None
        ]
        text = f"{_time_label(at, span)} UTC — " + (", ".join(parts) or "—")
        x = _LEFT + frame.step * i
        out.append(
            f'<rect x="{x:.1f}" y="{_TOP}" width="{frame.step:.2f}" height="{frame.height}">'
            f"<title>{escape(text)}</title></rect>"
        )
    out.append("</g>")
    return out


def _empty(text: str) -> str:
    return (
        f'<text class="empty" x="{_LEFT + (_W - _LEFT - _RIGHT) / 2:.0f}" y="{_H / 2:.0f}"'
        f' text-anchor="middle">{escape(text)}</text>'
    )


def line_chart(
    ident: str,
    *,
    title: str,
    desc: str,
    times: Sequence[int],
    span: int,
    series: Sequence[Series],
    fmt: Format = compact,
    empty: str = "",
) -> Markup:
    """Lines over time; a None value breaks its line (no requests in that bucket)."""
    values = [v for s in series for v in s.values if v is not None]
    frame = _Frame(len(times), _nice_ceiling(max(values, default=0.0)))
    out = _open(ident, title, desc) + _axes(frame, times, span, fmt)
    for s in series:
        runs: list[list[str]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{frame.x(i):.1f},{frame.y(v):.1f}")
        for run in runs:
            if len(run) == 1:  # a lone point: a dot, a line needs two
                cx, cy = run[0].split(",")
                out.append(f'<circle class="dot {escape(s.tone)}" cx="{cx}" cy="{cy}" r="2.5"/>')
            elif run:
                out.append(
                    f'<polyline class="line {escape(s.tone)}" fill="none"'
                    f' points="{" ".join(run)}"/>'
                )
    if not any(values) and empty:  # nothing but zeros and gaps
        out.append(_empty(empty))
    out += _hover(frame, times, span, series, fmt)
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()


def stacked_chart(
    ident: str,
    *,
    title: str,
    desc: str,
    times: Sequence[int],
    span: int,
    series: Sequence[Series],
    fmt: Format = compact,
    empty: str = "",
) -> Markup:
    """Bars stacked per bucket, the first series at the bottom."""
    totals = [
        sum(v or 0.0 for v in column) for column in zip(*(s.values for s in series), strict=True)
    ]
    frame = _Frame(len(times), _nice_ceiling(max(totals, default=0.0)))
    out = _open(ident, title, desc) + _axes(frame, times, span, fmt)
    width = max(frame.step * 0.8, 0.5)
    for i in range(len(times)):
        base = 0.0
        for s in series:
            v = s.values[i] or 0.0
            if v <= 0:
                continue
            top, bottom = frame.y(base + v), frame.y(base)
            out.append(
                f'<rect class="bar {escape(s.tone)}" x="{frame.x(i) - width / 2:.2f}"'
                f' y="{top:.2f}" width="{width:.2f}" height="{bottom - top:.2f}"/>'
            )
            base += v
    if not any(totals) and empty:
        out.append(_empty(empty))
    out += _hover(frame, times, span, series, fmt)
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()


def bar_list(
    ident: str,
    *,
    title: str,
    desc: str,
    items: Sequence[tuple[str, float, str]],
    fmt: Format = compact,
    empty: str = "",
) -> Markup:
    """One horizontal bar per (name, value, tone), largest first as given."""
    row, label_w, value_w = 24, 170, 70
    height = max(len(items), 1) * row + 8
    top = _nice_ceiling(max((v for _, v, _ in items), default=0.0))
    span = _W - label_w - value_w
    out = [
        f'<svg class="chart bars" viewBox="0 0 {_W} {height}" role="img"'
        f' aria-labelledby="{escape(ident)}-t {escape(ident)}-d" id="{escape(ident)}">',
        f'<title id="{escape(ident)}-t">{escape(title)}</title>',
        f'<desc id="{escape(ident)}-d">{escape(desc)}</desc>',
    ]
    for i, (name, value, tone) in enumerate(items):
        y = 4 + i * row
        length = max(span * value / top, 1.0 if value else 0.0)
        shown = name if len(name) <= 22 else name[:21] + "…"
        out.append(
            f'<g class="row"><title>{escape(name)}: {escape(fmt(value))}</title>'
            f'<text class="name" x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
            f"{escape(shown)}</text>"
            f'<rect class="bar {escape(tone)}" x="{label_w}" y="{y + 4}" width="{length:.1f}"'
            f' height="{row - 8}"/>'
            f'<text class="value" x="{label_w + length + 6:.1f}" y="{y + 16}">'
            f"{escape(fmt(value))}</text></g>"
        )
    if not items and empty:
        out.append(f'<text class="empty" x="{_W / 2:.0f}" y="20" text-anchor="middle">')
        out.append(f"{escape(empty)}</text>")
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value above went through escape()
