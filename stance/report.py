"""Pictures of stance over time: a PNG (matplotlib) and a self-contained HTML page.

Both show, for every actor (and for all sentences together), the share of each stance label per
period as stacked bars. The HTML page draws its charts as inline SVG (no script, no network):
hovering a bar segment lists its counts and evidence sentences, and clicking it jumps to the
evidence table for that period and actor.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from stance.labels import ACTORS, LABELS, STANCES, column
from stance.tracking import ALL, Tracking, aggregate, period_sort_key

COLOURS = {"pro-membership": "#2166ac", "conceding": "#f4a21d", "opposing": "#c0392b",
           "neutral": "#d9d9d9"}
# Stance labels at the bottom of each bar, where the eye compares them; neutral on top.
STACK_ORDER = (*STANCES, "neutral")


def _panels(tracking: Tracking) -> tuple[list[str], list[str], dict]:
    """Periods (sorted), panel names (``all`` then actors present) and rows keyed by both."""
    rows = aggregate(tracking.sentences, by_actor=False) + aggregate(tracking.sentences, by_actor=True)
    periods = sorted({r["period"] for r in rows}, key=period_sort_key)
    present = {r["actor"] for r in rows}
    panels = [name for name in (ALL, *ACTORS) if name in present]
    return periods, panels, {(r["period"], r["actor"]): r for r in rows}


def _surfaces(tracking: Tracking, actor: str, limit: int = 3) -> str:
    counts = Counter(s.surface for s in tracking.sentences if s.actor == actor and s.surface)
    return ", ".join(name for name, _ in counts.most_common(limit))


def _panel_title(tracking: Tracking, actor: str) -> str:
    if actor == ALL:
        return "all sentences"
    names = _surfaces(tracking, actor)
    return f"{actor} ({names})" if names else actor


def write_png(tracking: Tracking, path: str | Path) -> Path:
    """Small multiples, one panel per actor: stacked stance shares per period."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    periods, panels, rows = _panels(tracking)
    if not panels:
        raise ValueError("nothing to plot: no sentences were scored")
    columns = min(3, len(panels))
    lines = (len(panels) + columns - 1) // columns
    width = max(3.2, 0.9 * len(periods) + 1.6)
    fig, axes = plt.subplots(lines, columns, figsize=(width * columns, 3.3 * lines + 0.8),
                             sharey=True, squeeze=False)
    positions = range(len(periods))
    for ax, actor in zip(axes.flat, panels, strict=False):
        bottom = [0.0] * len(periods)
        for label in STACK_ORDER:
            heights = [rows.get((p, actor), {}).get(f"share_{column(label)}", 0.0) for p in periods]
            ax.bar(positions, heights, bottom=bottom, color=COLOURS[label], width=0.7,
                   edgecolor="white", linewidth=0.5, label=label)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        for x, p in enumerate(periods):
            row = rows.get((p, actor))
            if row is None:
                ax.text(x, 0.02, "no\nsentences", ha="center", va="bottom", fontsize=7, color="#888")
                continue
            top = "" if row["dominant_stance"] == "neutral" else row["dominant_stance"]
            ax.text(x, 1.02, f"n={row['sentences']}\n{top}", ha="center", va="bottom", fontsize=7.5,
                    color=COLOURS.get(top, "#444"), fontweight="bold" if top else "normal")
        ax.set_title(_panel_title(tracking, actor), fontsize=10, pad=26)
        ax.set_xticks(list(positions), periods, rotation=30 if len(periods) > 4 else 0, fontsize=8)
        ax.set_ylim(0, 1.0)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"], fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    top = 1 - 0.6 / fig.get_figheight()
    fig.text(0.995, 0.005, "periods without articles are not shown; n = sentences; label above a bar ="
             " its dominant non-neutral stance", ha="right", va="bottom", fontsize=7, color="#666")
    fig.suptitle(f"Stance toward Ukraine joining NATO: share of sentences per {tracking.by} and actor",
                 fontsize=11, y=0.995, va="top")
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.3 / fig.get_figheight()),
               ncol=len(LABELS), frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.02, 1, top))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _anchor(period: str, actor: str) -> str:
    return f"ev-{period}-{actor}".replace(" ", "_")


def _svg_panel(tracking: Tracking, actor: str, periods: list[str], rows: dict, evidence: dict) -> str:
    bar, gap, height, top, left = 46, 22, 180, 34, 40
    width = left + len(periods) * (bar + gap) + gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + top + 40}" '
             f'role="img" aria-label="{html.escape(_panel_title(tracking, actor))}">']
    for tick in (0, 0.5, 1.0):
        y = top + height * (1 - tick)
        parts.append(f'<line x1="{left - 4}" x2="{width}" y1="{y}" y2="{y}" stroke="#eee"/>'
                     f'<text x="{left - 8}" y="{y + 4}" font-size="10" text-anchor="end">{tick:.0%}</text>')
    for i, period in enumerate(periods):
        x = left + gap + i * (bar + gap)
        row = rows.get((period, actor))
        parts.append(f'<text x="{x + bar / 2}" y="{top + height + 16}" font-size="10" '
                     f'text-anchor="middle">{html.escape(period)}</text>')
        if row is None:
            parts.append(f'<text x="{x + bar / 2}" y="{top + height - 6}" font-size="9" fill="#999" '
                         'text-anchor="middle">none</text>')
            continue
        sentences = evidence.get((period, actor), [])
        y = top + height
        for label in STACK_ORDER:
            share = row[f"share_{column(label)}"]
            if not share:
                continue
            h = share * height
            y -= h
            examples = [f"• {e['text'][:160]} ({e['article_id']}, {e['confidence']:.2f})"
                        for e in sentences if e["label"] == label]
            tip = "\n".join([f"{actor} · {period} · {label}: {row[column(label)]} of {row['sentences']} "
                             f"sentences ({share:.0%})", *examples])
            parts.append(f'<a href="#{_anchor(period, actor)}"><rect x="{x}" y="{y:.1f}" width="{bar}" '
                         f'height="{h:.1f}" fill="{COLOURS[label]}" stroke="#fff">'
                         f'<title>{html.escape(tip)}</title></rect></a>')
        dominant = row["dominant_stance"]
        parts.append(f'<text x="{x + bar / 2}" y="{top - 6}" font-size="9" text-anchor="middle" '
                     f'fill="{COLOURS[dominant] if dominant != "neutral" else "#666"}">'
                     f'n={row["sentences"]}{"" if dominant == "neutral" else " " + dominant}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>"
                                    for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222}
h1{font-size:20px} h2{font-size:16px;margin-top:28px} h3{font-size:14px;margin:18px 0 4px}
.panels{display:flex;flex-wrap:wrap;gap:18px} .panel{border:1px solid #eee;padding:8px}
.legend span{display:inline-block;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;font-size:12px;margin:6px 0} td,th{border:1px solid #ddd;padding:3px 6px;
text-align:left;vertical-align:top} th{background:#f6f6f6} rect:hover{opacity:.8}
.label-pro-membership{color:#2166ac}.label-conceding{color:#b36b00}.label-opposing{color:#c0392b}
"""


def render_html(tracking: Tracking, by_actor: bool = True) -> str:
    periods, panels, rows = _panels(tracking)
    evidence = tracking.evidence(by_actor=True)
    evidence.update(tracking.evidence(by_actor=False))
    legend = "".join(f'<span><i style="background:{COLOURS[label]}"></i>{label}</span>'
                     for label in STACK_ORDER)
    charts = "".join(f'<div class="panel"><h3>{html.escape(_panel_title(tracking, actor))}</h3>'
                     f'{_svg_panel(tracking, actor, periods, rows, evidence)}</div>' for actor in panels)
    table_rows = tracking.table(by_actor)
    columns = list(table_rows[0]) if table_rows else []
    sections = []
    order = {name: i for i, name in enumerate((ALL, *ACTORS))}
    for (period, actor), items in sorted(evidence.items(),
                                         key=lambda kv: (period_sort_key(kv[0][0]), order[kv[0][1]])):
        if not items:
            continue
        lines = "".join(
            f'<tr><td class="label-{e["label"]}">{e["label"]}</td><td>{e["confidence"]:.2f}</td>'
            f'<td>{html.escape(str(e["surface"] or ""))}</td><td>{html.escape(e["article_id"])}</td>'
            f'<td>{html.escape(e["text"])}</td></tr>' for e in items)
        sections.append(f'<h3 id="{_anchor(period, actor)}">{html.escape(period)} · {html.escape(actor)}</h3>'
                        "<table><thead><tr><th>label</th><th>confidence</th><th>holder</th>"
                        f"<th>article</th><th>sentence</th></tr></thead><tbody>{lines}</tbody></table>")
    articles = _table(tracking.articles, ["article_id", "published", "period", "title", "sentences",
                                          *LABELS, "dominant_stance", "dominant_share",
                                          "dominant_confidence"])
    evidence_html = "".join(sections) or "<p>No stance-bearing sentences.</p>"
    undated = (f"<p>{len(tracking.undated)} undated article(s), counted in period <b>undated</b>: "
               f"{html.escape(', '.join(tracking.undated))}</p>" if tracking.undated else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Stance over time</title>
<style>{_STYLE}</style></head><body>
<h1>Stance toward Ukraine joining NATO, per {html.escape(tracking.by)} and actor</h1>
<p>Each bar is the share of an actor's sentences in a period with each label; <i>n</i> is the number
of sentences and the label above a bar its dominant non-neutral stance. Hover a bar segment for its
evidence sentences; click it to jump to the evidence table. Net stance index =
(pro-membership − conceding − opposing) / (pro-membership + conceding + opposing).</p>
<div class="legend">{legend}</div>
<div class="panels">{charts}</div>
{undated}
<h2>Table</h2>{_table(table_rows, columns)}
<h2>Articles</h2>{articles}
<h2>Evidence (most confident sentences per label)</h2>{evidence_html}
</body></html>
"""


def write_html(tracking: Tracking, path: str | Path, by_actor: bool = True) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(tracking, by_actor), encoding="utf-8")
    return path
