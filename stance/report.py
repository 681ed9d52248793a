"""Pictures of stance over time: a PNG and a self-contained HTML page, from one Vega-Lite chart.

The chart (:mod:`stance.charts`, numbers from :mod:`stance.timeline`) has one panel per actor
plus one for all sentences, on one real time axis. The PNG is rendered offline by vl-convert. The
HTML page inlines the Vega, Vega-Lite and vega-embed scripts that vl-convert ships, so it opens
without a network: hovering a point shows its counts, interval and evidence sentences, brushing the
sentence strip zooms every panel to a time window, a menu picks one panel; below the charts are the
table, the articles and the evidence sentences of every period and actor.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stance import charts
from stance.charts import NothingToPlot
from stance.events import Event
from stance.labels import ACTORS, DEFAULT_SCHEMA, LabelSchema, column
from stance.timeline import Series, regroup, series
from stance.tracking import ALL, Tracking, period_sort_key
from stance.tracking import evidence as tracking_evidence

EVIDENCE_PER_LABEL = 2
__all__ = ["NothingToPlot", "Page", "page_of", "render_html", "write_html", "write_png"]


@dataclass
class Page:
    """Everything the pictures and the page show, gathered from a tracking run (:func:`page_of`)
    or from the store in SQL (stance.store_report) without holding its sentences."""

    by: str                 # the table's unit
    facet: str
    series: Series
    evidence: dict[tuple[str, str], list[dict]]  # (period in series.by, actor) → evidence rows
    table: list[dict]
    articles: list[dict]
    undated: list[str]      # ids of the undated articles
    uncertain: int          # sentences left out below the confidence threshold
    # The model's labels, colours and target (the default schema where no model is at hand).
    schema: LabelSchema = field(default_factory=lambda: DEFAULT_SCHEMA)


def page_of(tracking: Tracking, by_actor: bool | str = True, facet: str = "actor") -> Page:
    data = series(tracking, facet)
    # Evidence per period of the chart (a click on a point lands on its period) and per actor; two
    # per label, so an archive's page stays a few megabytes (`--sentences` writes them all).
    sentences = tracking.sentences if data.by == tracking.by else regroup(tracking.sentences, data.by)
    evidence = tracking_evidence(sentences, by_actor=True, per_label=EVIDENCE_PER_LABEL)
    return Page(tracking.by, facet, data, evidence, tracking.table(by_actor), tracking.articles,
                tracking.undated, len(tracking.uncertain), tracking.schema)


def write_png(tracking: Tracking | Page, path: str | Path, events: Sequence[Event] = (),
              facet: str = "actor") -> Path:
    """Small multiples, one panel per ``facet`` value, as a PNG at most ~2,000 px wide."""
    page = tracking if isinstance(tracking, Page) else None
    data = page.series if page else series(tracking, facet)
    data = charts.png(data, list(events), page.schema if page else tracking.schema)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _anchor(period: str, actor: str) -> str:
    return f"ev-{period}-{actor}".replace(" ", "_")


def _table(rows: list[dict], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if r.get(c) is None else str(r.get(c)))}</td>"
                                    for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222}
h1{font-size:20px} h2{font-size:16px;margin-top:28px} h3{font-size:14px;margin:18px 0 4px}
p.note{max-width:60em;font-size:13px;line-height:1.45}
.vega-bindings{margin:6px 0 10px;font-size:13px} .vega-bindings select{font-size:13px}
#vg-tooltip-element{max-width:460px;font-size:12px} #vg-tooltip-element td.value{white-space:normal}
table{border-collapse:collapse;font-size:12px;margin:6px 0} td,th{border:1px solid #ddd;padding:3px 6px;
text-align:left;vertical-align:top} th{background:#f6f6f6}
"""


def _text_colour(colour: str) -> str:
    """A chart colour darkened to 70%: light chart colours (the default conceding orange, #e08b00)
    are too faint as text on white (#e08b00, 2.7:1 against white, becomes #9d6100, 5.1:1)."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * 0.7):02x}" for c in (red, green, blue))


def _label_style(schema: LabelSchema) -> str:
    # Evidence labels in their chart colours, darkened to read as text; neutral is never evidence.
    return "".join(f".label-{label}{{color:{_text_colour(schema.colours[label])}}}"
                   for label in schema.stances)

# Renders each chart and sends a click on a point to the evidence table of its period and panel.
_EMBED = """
for (const [id, specId] of [["timeline", "timeline-spec"], ["net", "net-spec"]]) {
  const spec = JSON.parse(document.getElementById(specId).textContent);
  vegaEmbed("#" + id, spec, {renderer: "svg", actions: false}).then((result) => {
    result.view.addEventListener("click", (event, item) => {
      const d = item && item.datum;
      if (d && d.period && d.key) {
        const target = document.getElementById(("ev-" + d.period + "-" + d.key).replace(/ /g, "_"));
        if (target) target.scrollIntoView();
      }
    });
    document.getElementById(id).dataset.rendered = "yes";
  }).catch((error) => console.error(error));
}
"""


def vega_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed scripts as one inline-able bundle.

    vl-convert builds it on each first call in a process (2–3 s on 2 cores); the result depends
    only on the vl-convert release, so it is kept in the user's cache directory under that
    release's version and rebuilt when that is missing or unreadable.
    """
    import os

    import vl_convert as vlc

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stance"
    path = cache / f"vega-bundle-vl-convert-{vlc.__version__}.js"
    try:
        text = path.read_text(encoding="utf-8")
        if "window.vegaEmbed=" in text[-300:]:  # a whole bundle, not a torn write
            return text
    except OSError:
        pass
    text = vlc.javascript_bundle()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # a read-only home only costs the rebuild next time
    return text


def _json_script(element_id: str, value) -> str:
    # "</" cannot end the script element early once written as "<\/", which JSON reads back as "</".
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _net_prose(schema: LabelSchema) -> str:
    positive, *against = (schema.polar[0], *(s for s in schema.stances if s != schema.polar[0]))
    return (f"({positive} − {' − '.join(against)}) / ({' + '.join((positive, *against))}), from +1 "
            f"(every stance-bearing sentence is {positive}) to −1 (every one is {' or '.join(against)}); "
            f"{schema.neutral} sentences do not count. It puts {' and '.join(against)} together, so read "
            "it with the shares above, which keep them apart. The band is its 95% interval (the Wilson "
            f"interval of the {positive} share among stance-bearing sentences, mapped to −1…+1).")


def render_html(tracking: Tracking | Page, by_actor: bool | str = True, events: Sequence[Event] = (),
                facet: str = "actor") -> str:
    """The page; a :class:`Page` brings its own table and facet (``by_actor``, ``facet`` unused)."""
    page = tracking if isinstance(tracking, Page) else page_of(tracking, by_actor, facet)
    data, facet = page.series, page.facet
    if data.points:
        timeline = charts.spec(data, list(events), interactive=True, schema=page.schema)
        net = charts.net_spec(data, interactive=True)
    else:
        timeline = net = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json",
                          "title": "no dated sentences to draw", "mark": "text"}
    evidence, table_rows = page.evidence, page.table
    columns = list(table_rows[0]) if table_rows else []
    sections = []
    order = {name: i for i, name in enumerate((ALL, *ACTORS))}
    for (period, actor), items in sorted(evidence.items(),
                                         key=lambda kv: (period_sort_key(kv[0][0]), order[kv[0][1]])):
        if not items:
            continue
        lines = "".join(
            f'<tr><td class="label-{e["label"]}">{e["label"]}</td><td>{e["confidence"]:.2f}</td>'
            f'<td>{html.escape(str(e["actor_surface"] or ""))}</td><td>{html.escape(e["article_id"])}</td>'
            f'<td>{html.escape(e["text"])}</td></tr>' for e in items)
        sections.append(f'<h3 id="{_anchor(period, actor)}">{html.escape(period)} · {html.escape(actor)}</h3>'
                        "<table><thead><tr><th>label</th><th>confidence</th><th>holder</th>"
                        f"<th>article</th><th>sentence</th></tr></thead><tbody>{lines}</tbody></table>")
    articles = _table(page.articles, ["article_id", "published", "period", "title", "sentences",
                                          *map(column, page.schema.labels), "dominant_stance",
                                          "dominant_share", "dominant_confidence"])
    evidence_html = "".join(sections) or "<p>No stance-bearing sentences.</p>"
    undated = (f"<p>{len(page.undated)} undated article(s), counted in period <b>undated</b> of "
               f"the table but not on the time axis: {html.escape(', '.join(page.undated))}</p>"
               if page.undated else "")
    uncertain = (f"<p>{page.uncertain:,} sentence(s) below the confidence threshold were "
                 "left out of every count and chart.</p>" if page.uncertain else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Stance over time</title>
<style>{_STYLE}{_label_style(page.schema)}</style>
<script>{vega_bundle()}</script></head><body>
<h1>Stance toward {html.escape(page.schema.target)}, per {html.escape(page.by)} and {html.escape(facet)}</h1>
<p class="note">Each line is the share of a panel's sentences in a period holding one stance; the
band (or bar, for a lone period) is its 95% Wilson interval, the point's size the number of
sentences it rests on, and faded points rest on fewer than {charts.LOW_COUNT}. The grey strip counts
sentences per period: drag across it to zoom every panel to a time window, double-click to reset.
The menu picks one panel. Hover a point for its counts, interval and most confident sentences; click
it to jump to its evidence below.</p>
<div id="timeline"></div>
{undated}{uncertain}
<h2>Net stance index</h2>
<p class="note">{html.escape(_net_prose(page.schema))}
Drag to pan, scroll to zoom.</p>
<div id="net"></div>
<h2>Table</h2>{_table(table_rows, columns)}
<h2>Articles</h2>{articles}
<h2>Evidence (the {EVIDENCE_PER_LABEL} most confident sentences per label, {html.escape(data.by)}
and actor)</h2>{evidence_html}
{_json_script("timeline-spec", timeline)}
{_json_script("net-spec", net)}
<script>{_EMBED}</script>
</body></html>
"""


def write_html(tracking: Tracking | Page, path: str | Path, by_actor: bool | str = True,
               events: Sequence[Event] = (), facet: str = "actor") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(tracking, by_actor, events, facet), encoding="utf-8")
    return path
