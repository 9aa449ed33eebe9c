"""The report as CSV rows and as one self-contained HTML page a lead can forward: SVG charts drawn here (no
script, no external resource, nothing fetched), each with its numbers in a table beside it. Agents appear in
alphabetical order, never ranked; no chart shows a duration of anyone's work."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from socialcare.measures.figures import DISTRIBUTION, quantile
from socialcare.measures.reports import (
    WEEKDAYS,
    Period,
    Rollups,
    build_report,
    grouped,
    hour_of_week,
    total,
    weekly,
)

CSV_COLUMNS = (
    "key",
    "mentions",
    "answered",
    "unanswered",
    "first_response_median_s",
    "first_response_p90_s",
    "first_response_count",
    "sla_met",
    "sla_missed",
    "sla_share",
    "csat_sent",
    "csat_responses",
    "csat_response_rate",
    "csat_score_share",
    "csat_average",
    "rating_1",
    "rating_2",
    "rating_3",
    "rating_4",
    "rating_5",
)


def csv_row(key: str, fields: dict[str, Any]) -> list[Any]:
    frt, sla, csat = fields["first_response_seconds"], fields["sla"], fields["csat"]
    return [
        key,
        fields["mentions"],
        fields["answered"],
        fields["unanswered"],
        frt["median"],
        frt["p90"],
        frt["count"],
        sla["met"],
        sla["missed"],
        sla["share"],
        csat["sent"],
        csat["responses"],
        csat["response_rate"],
        csat["score_share"],
        csat["average"],
        *(csat["ratings"][str(r)] for r in range(1, 6)),
    ]


def report_csv(report: dict[str, Any]) -> str:
    """One row per group (or one row, key "all", without --by); empty cells where there is no figure."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = report.get("groups")
    if rows is None:
        writer.writerow(csv_row("all", report))
    else:
        for group in rows:
            writer.writerow(csv_row(str(group["key"]), group))
    return out.getvalue()


# ---------------------------------------------------------------- HTML

STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:12px;color:#1d1d1f;max-width:1100px}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em}
section{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure{margin:0;flex:1 1 320px;min-width:0}figure svg{width:100%;height:auto;display:block}
.table{flex:1 1 280px;min-width:0;overflow-x:auto}
table{border-collapse:collapse;font-size:.85em}
td,th{border-bottom:1px solid #ddd;padding:3px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}.note{color:#555;font-size:.85em}
blockquote{margin:.4em 0;padding:.3em .6em;border-left:3px solid #999;background:#f5f5f5;
overflow-wrap:anywhere}
"""
COLORS = ("#1b6ca8", "#e07b39", "#3a9d5d", "#b8434b", "#7d5ba6")


@dataclass(frozen=True)
class Comment:
    """A customer's comment on a survey, for the satisfaction section (shown escaped)."""

    rating: int
    comment: str
    platform: str
    rated_at: str


def _duration(seconds: float | None) -> str:
    """A customer's wait, readable: 42 s, 12 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    # The box scrolls sideways on a phone: keyboard users reach it too (tabindex), and it is named.
    label = escape(caption or ", ".join(str(h) for h in headers))
    return (
        f'<div class="table" tabindex="0" role="region" aria-label="{label}">'
        f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _bars(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], title: str) -> str:
    """Grouped vertical bars, one group per label, one bar per series; a legend above."""
    width, height, left, bottom, top = 640, 260, 48, 40, 28
    peak = max((v for _name, values in series for v in values), default=0) or 1
    slot = (width - left - 8) / max(1, len(labels))
    bar = max(1.0, slot * 0.8 / max(1, len(series)))
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f"><title>{escape(title)}</title>"
    ]
    plot = height - bottom - top
    for s, (name, values) in enumerate(series):
        color = COLORS[s % len(COLORS)]
        parts.append(f'<rect x="{left + s * 130}" y="6" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{left + s * 130 + 14}" y="15" font-size="11">{escape(name)}</text>')
        for i, value in enumerate(values):
            h = plot * value / peak
            x = left + i * slot + slot * 0.1 + s * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{color}"/>'
            )
    parts.append(f'<line x1="{left}" y1="{top + plot}" x2="{width}" y2="{top + plot}" stroke="#999"/>')
    parts.append(f'<text x="2" y="{top + 10}" font-size="11">{escape(_axis(peak, title))}</text>')
    step = max(1, len(labels) // 8)
    for i in range(0, len(labels), step):
        x = left + i * slot + slot / 2
        parts.append(
            f'<text x="{x:.1f}" y="{height - 22}" font-size="10" text-anchor="middle">'
            f"{escape(labels[i])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _axis(peak: float, title: str) -> str:
    if "time" in title:
        return _duration(peak)
    if "share" in title or "SLA" in title:
        return _percent(peak)
    return f"{peak:.0f}"


def _heatmap(cells: dict[tuple[int, int], tuple[int, int]], title: str, zone: str) -> str:
    width, height, left, top, cell_w, cell_h = 640, 230, 40, 24, 25, 26
    peak = max((received for received, _ in cells.values()), default=0) or 1
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f"><title>{escape(title)}</title>"
    ]
    for hour in range(0, 24, 3):
        parts.append(f'<text x="{left + hour * cell_w + 2}" y="16" font-size="10">{hour:02d}</text>')
    for weekday, name in enumerate(WEEKDAYS):
        y = top + weekday * cell_h
        parts.append(f'<text x="2" y="{y + 17}" font-size="11">{name}</text>')
        for hour in range(24):
            received, answered = cells.get((weekday, hour), (0, 0))
            when = f"{name} {hour:02d}:00 {escape(zone)}"
            shade = 0.08 + 0.92 * received / peak if received else 0.03
            parts.append(
                f'<rect x="{left + hour * cell_w}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="#1b6ca8" fill-opacity="{shade:.2f}"><title>{when}: {received} '
                f"received, {answered} answered</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _headline(report: dict[str, Any]) -> str:
    frt, sla, csat = report["first_response_seconds"], report["sla"], report["csat"]
    rows = [
        ("Mentions received", report["mentions"]),
        ("Answered", report["answered"]),
        ("Unanswered", report["unanswered"]),
        ("First response, median", _duration(frt["median"])),
        ("First response, 90th percentile", _duration(frt["p90"])),
        ("Response target met", f"{_percent(sla['share'])} ({sla['met']} of {sla['met'] + sla['missed']})"),
        ("Surveys sent / answered", f"{csat['sent']} / {csat['responses']}"),
        ("Satisfied (4 or 5)", _percent(csat["score_share"])),
        ("Average rating", "-" if csat["average"] is None else csat["average"]),
    ]
    return _table(("Last period", ""), rows)


def _per_day(rollups: Rollups, period: Period) -> str:
    days = grouped(rollups, period, "day")
    labels = period.days()
    medians = [quantile(days[d].histogram, 0.5) or 0 if d in days else 0 for d in labels]
    p90s = [quantile(days[d].histogram, 0.9) or 0 if d in days else 0 for d in labels]
    chart = _bars(
        [d[5:] for d in labels],
        [("median", medians), ("90th percentile", p90s)],
        "First response time per day",
    )
    rows = [
        (d, _duration(m if d in days else None), _duration(p if d in days else None))
        for d, m, p in zip(labels, medians, p90s, strict=True)
    ]
    return f"<section><figure>{chart}</figure>{_table(('Day', 'Median', '90th pct'), rows)}</section>"


def _distribution(rollups: Rollups, period: Period) -> str:
    platforms = grouped(rollups, period, "platform")
    names = list(platforms)
    series = [
        (label, [float(platforms[p].distribution[i]) for p in names])
        for i, (label, _) in enumerate(DISTRIBUTION)
    ]
    chart = _bars(names, series, "First responses by how long the customer waited")
    rows = [(p, *platforms[p].distribution) for p in names]
    table = _table(("Platform", *[label for label, _ in DISTRIBUTION]), rows)
    return f"<section><figure>{chart}</figure>{table}</section>"


def _staffing(rollups: Rollups, period: Period, zone: str) -> str:
    cells = hour_of_week(rollups, period)
    chart = _heatmap(cells, f"Mentions received by hour of the week ({zone})", zone)
    rows = [
        (name, *(f"{cells.get((w, h), (0, 0))[0]}/{cells.get((w, h), (0, 0))[1]}" for h in range(24)))
        for w, name in enumerate(WEEKDAYS)
    ]
    table = _table(("Day", *[f"{h:02d}" for h in range(24)]), rows, f"received/answered per hour ({zone})")
    return f"<section><figure>{chart}</figure>{table}</section>"


def _sla(rollups: Rollups, period: Period) -> str:
    priorities = grouped(rollups, period, "priority")
    names = list(priorities)
    shares = [priorities[p].met / max(1, priorities[p].met + priorities[p].missed) for p in names]
    chart = _bars(names, [("met", shares)], "SLA: share answered within the target")
    rows = [
        (p, priorities[p].met, priorities[p].missed, _percent(s)) for p, s in zip(names, shares, strict=True)
    ]
    return (
        f"<section><figure>{chart}</figure>{_table(('Priority', 'Met', 'Missed', 'Share'), rows)}</section>"
    )


def _satisfaction(rollups: Rollups, period: Period, comments: Sequence[Comment]) -> str:
    weeks = weekly(rollups, period)
    shares = []
    rows = []
    for monday, counters in weeks:
        rated = sum(counters.ratings.values())
        share = (counters.ratings.get(4, 0) + counters.ratings.get(5, 0)) / rated if rated else None
        shares.append(share or 0.0)
        rows.append((monday, counters.sent, counters.responses, _percent(share)))
    chart = _bars([m[5:] for m, _ in weeks], [("satisfied share", shares)], "Satisfaction share per week")
    quotes = "".join(
        f"<blockquote>{escape(c.comment)}<br><span class=note>{c.rating}/5 · {escape(c.platform)} · "
        f"{escape(c.rated_at[:10])}</span></blockquote>"
        for c in comments
    )
    table = _table(("Week of", "Surveys sent", "Answered", "Satisfied"), rows)
    latest = f"<h3>Latest comments</h3>{quotes}" if quotes else '<p class="note">No comments yet.</p>'
    return f"<section><figure>{chart}</figure>{table}</section>{latest}"


def _agents(rollups: Rollups, period: Period) -> str:
    agents = grouped(rollups, period, "agent")
    rows = []
    for email, counters in sorted(agents.items()):
        rated = sum(counters.ratings.values())
        satisfied = (counters.ratings.get(4, 0) + counters.ratings.get(5, 0)) / rated if rated else None
        median = quantile(counters.histogram, 0.5)
        rows.append((email, counters.answered, _duration(median), counters.responses, _percent(satisfied)))
    headers = ("Agent", "Replies", "Median first response", "Survey responses", "Satisfied")
    return _table(headers, rows) + '<p class="note">In alphabetical order: this is not a ranking.</p>'


def report_sections(
    rollups: Rollups,
    period: Period,
    comments: Sequence[Comment] = (),
    *,
    with_agents: bool = True,
    zone: str = "UTC",
) -> str:
    """The report's note and sections (styled by STYLE); the per-agent table only `with_agents` (the team
    pages show it to leads only). `zone`: the time zone the roll-ups' days and hours are in (in_zone)."""
    report = build_report(rollups, period)
    totals = total(rollups, period)
    sections = [
        ("Headline", _headline(report)),
        ("First response time per day", _per_day(rollups, period)),
        ("How long customers waited, by platform", _distribution(rollups, period)),
        ("When mentions arrive: received and answered by hour of the week", _staffing(rollups, period, zone)),
        ("Response targets met, by priority", _sla(rollups, period)),
        ("Customer satisfaction per week", _satisfaction(rollups, period, comments)),
    ]
    if with_agents:
        sections.append(("Per agent", _agents(rollups, period)))
    body = "".join(f"<h2>{escape(name)}</h2>{content}" for name, content in sections)
    note = (
        f"{totals.mentions} mentions. First response time is how long the customer waited for our first "
        "reply; nothing here measures how long anyone spent on a reply."
    )
    return f'<p class="note">{escape(note)}</p>{body}'


def report_html(
    rollups: Rollups, period: Period, comments: Sequence[Comment] = (), *, zone: str = "UTC"
) -> str:
    """The whole page: inline CSS, inline SVG, no script, no link to anything outside it."""
    title = f"Social Care report {period.since.isoformat()} to {period.until.isoformat()} ({zone})"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{report_sections(rollups, period, comments, zone=zone)}</body></html>"
    )
