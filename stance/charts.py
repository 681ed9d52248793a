"""Vega-Lite specifications of the stance timeline (built with Altair) and their offline renderings.

One chart, two renderings: :func:`png` through vl-convert (no browser, no network), and the
interactive version that :mod:`stance.report` embeds in its HTML page. Layout, top to bottom:

- event labels (``--events``), laid out in lanes so no two overlap;
- a strip of sentences per period — the sample size — on which the page brushes a time window;
- one panel per facet value (``actor`` by default), aligned on one time axis: for each stance its
  share of the panel's sentences per period, a line through consecutive periods only (an empty
  period breaks it), a band or bar for the 95% interval, and a point sized by the sentences it
  rests on, faded when they are fewer than ``timeline.LOW_COUNT``.

Altair validates the chart's structure only; the data go in as named datasets afterwards, so an
archive of thousands of points is not validated row by row.
"""

from __future__ import annotations

import datetime as dt
import json

import altair as alt

from stance.events import Event
from stance.labels import DEFAULT_SCHEMA, POLAR, LabelSchema
from stance.timeline import LOW_COUNT, Series

WIDTH = 900
PANEL_HEIGHT = 120
STRIP_HEIGHT = 44
LANE_HEIGHT = 14
EVENT_FONT = 10
PNG_SCALE = 2
ALL_PANELS = "every panel"


def _tooltip(facet: str) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("key:N", title=facet), alt.Tooltip("period:N", title="period"),
        alt.Tooltip("stance:N", title="stance"), alt.Tooltip("share:Q", title="share", format=".0%"),
        alt.Tooltip("lo:Q", title="95% interval from", format=".0%"),
        alt.Tooltip("hi:Q", title="95% interval to", format=".0%"),
        alt.Tooltip("count:Q", title="sentences with it"), alt.Tooltip("n:Q", title="sentences counted"),
        alt.Tooltip("articles:Q", title="articles"),
        alt.Tooltip("uncertain:Q", title="left out as uncertain"),
        alt.Tooltip("evidence:N", title="most confident"),
    ]


def _row(series: Series, spacing: int) -> dict:
    """Facet rows by panel key, in the series' order, each headed by its title."""
    titles = ", ".join(f"{json.dumps(p['key'])}: {json.dumps(p['title'])}" for p in series.panels)
    return {"row": alt.Row("key:N", title=None, sort=[p["key"] for p in series.panels],
                           header=alt.Header(labelOrient="top", labelAnchor="start", labelAngle=0,
                                             labelFontSize=12, labelFontWeight="bold", labelPadding=4,
                                             labelExpr=f"({{{titles}}})[datum.value]")),
            "spacing": spacing}


class NothingToPlot(ValueError):
    """No dated, counted sentence: there is no time axis to draw."""


def _days(day: str) -> int:
    return dt.date.fromisoformat(day[:10]).toordinal()


def _datetime(day: str) -> alt.DateTime:
    d = dt.date.fromisoformat(day)
    return alt.DateTime(year=d.year, month=d.month, date=d.day, utc=True)


def _text_width(text: str, size: float = EVENT_FONT) -> float:
    # A generous average glyph width of the sans-serif fonts Vega falls back to.
    return 0.62 * size * len(text) + 4


def event_lanes(events: list[Event], start: str, end: str, width: int = WIDTH) -> list[dict]:
    """Events inside [start, end) with a lane each, so labels on one lane never overlap.

    A label runs right of its marker, or left of it where it would leave the chart.
    """
    first, span = _days(start), max(1, _days(end) - _days(start))
    lanes: list[list[tuple[float, float]]] = []
    rows = []
    for number, event in enumerate(events, start=1):
        if not start <= event.date < end:
            continue
        x = (_days(event.date) - first) / span * width
        text = f"{number} {event.label}"
        w = _text_width(text)
        left_side = x + 3 + w > width
        x1, x2 = (x - 3 - w, x) if left_side else (x, x + 3 + w)
        lane = next((i for i, taken in enumerate(lanes)
                     if all(x2 + 4 <= a or x1 >= b + 4 for a, b in taken)), None)
        if lane is None:
            lanes.append([])
            lane = len(lanes) - 1
        lanes[lane].append((x1, x2))
        rows.append({"date": event.date, "label": text, "lane": lane,
                     "align": "right" if left_side else "left"})
    return rows


def _x(series: Series, domain, axis: bool = True) -> alt.X:
    return alt.X("mid:T", title=None, scale=alt.Scale(type="utc", domain=domain),
                 axis=alt.Axis(format="%Y" if series.by == "year" else alt.Undefined, labelOverlap=True,
                               labelFlush=True, grid=True, tickCount=12) if axis else None)


def _panels(series: Series, domain, interactive: bool, schema: LabelSchema) -> alt.FacetChart:
    base = alt.Chart().transform_filter(alt.datum.kind == "point")
    x = _x(series, domain)
    y = alt.Y("share:Q", title="share of sentences", axis=alt.Axis(format="%", tickCount=3),
              scale=alt.Scale(domain=[0, 1]))
    colour = alt.Color("stance:N", title=None,
                       scale=alt.Scale(domain=list(schema.stances),
                                       range=[schema.colours[s] for s in schema.stances]),
                       legend=alt.Legend(orient="top", direction="horizontal", labelFontSize=12,
                                         symbolOpacity=1))
    band = base.transform_filter(~alt.datum.single).mark_area(opacity=0.16, interpolate="linear").encode(
        x=x, y="lo:Q", y2="hi:Q", color=colour, detail="run:N")
    bar = base.transform_filter(alt.datum.single).mark_rule(strokeWidth=2, opacity=0.5).encode(
        x=x, y="lo:Q", y2="hi:Q", color=colour)
    line = base.mark_line(strokeWidth=1.6).encode(x=x, y=y, color=colour, detail="run:N")
    point = base.mark_circle().encode(
        x=x, y=y, color=colour,
        size=alt.Size("n:Q", title=None, legend=None, scale=alt.Scale(type="sqrt", range=[12, 140])),
        opacity=alt.condition(alt.datum.low, alt.value(0.3), alt.value(0.95)),
        tooltip=_tooltip(series.facet))
    layers = [band, bar, line, point]
    # Event markers, and two invisible marks at the ends of the time range that keep the default
    # (unzoomed) domain of every panel the full range with its margins.
    events = alt.Chart().transform_filter(alt.datum.kind != "point")
    layers.insert(0, events.mark_rule(color="#777", strokeDash=[3, 3], strokeWidth=1).encode(
        x=x, strokeOpacity=alt.condition(alt.datum.kind == "edge", alt.value(0), alt.value(1))))
    layer = alt.layer(*layers).properties(width=WIDTH, height=PANEL_HEIGHT)
    chart = layer.facet(data=alt.NamedData("points"), **_row(series, 14))
    if interactive:
        chart = chart.transform_filter(f"panel_filter == '{ALL_PANELS}' || datum.key == panel_filter")
    return chart


def _strip(series: Series, interactive: bool) -> alt.Chart:
    chart = alt.Chart(alt.NamedData("periods")).mark_bar(color="#8c8c8c").encode(
        # No explicit domain: with x2 Vega-Lite warns of a conflict; two empty bars at the ends of
        # the range (see ``spec``) set it instead.
        x=alt.X("start:T", title=None, scale=alt.Scale(type="utc"),
                axis=alt.Axis(labelOverlap=True, labelFlush=True, tickCount=12, grid=False)),
        x2="end:T",
        y=alt.Y("n:Q", title="sentences", axis=alt.Axis(tickCount=2, labelOverlap=True)),
        tooltip=[alt.Tooltip("period:N"), alt.Tooltip("n:Q", title="sentences counted"),
                 alt.Tooltip("articles:Q"), alt.Tooltip("uncertain:Q", title="left out as uncertain")],
    ).properties(width=WIDTH, height=STRIP_HEIGHT)
    if interactive:
        # Starts as the whole range: an empty brush leaves the panels' domain undefined at first.
        chart = chart.add_params(alt.selection_interval(
            name="brush", encodings=["x"], value={"x": [_datetime(series.start), _datetime(series.end)]}))
    return chart


def _events_strip(series: Series, lanes: list[dict]) -> alt.LayerChart:
    count = max(r["lane"] for r in lanes) + 1
    y = alt.Y("lane:O", axis=None, scale=alt.Scale(domain=list(range(count))))
    label = {"fontSize": EVENT_FONT, "baseline": "top", "color": "#444"}
    base = alt.Chart(alt.NamedData("events"))
    return alt.layer(
        base.mark_rule(color="#777", strokeDash=[3, 3]),
        base.transform_filter(alt.datum.align == "left").mark_text(align="left", dx=3, **label).encode(
            y=y, text="label:N"),
        base.transform_filter(alt.datum.align == "right").mark_text(align="right", dx=-3, **label).encode(
            y=y, text="label:N"),
    ).encode(
        x=alt.X("date:T", title=None, axis=None,
                scale=alt.Scale(type="utc", domain=[series.start, series.end])),
        tooltip=[alt.Tooltip("date:T", format="%Y-%m-%d"), alt.Tooltip("label:N")],
    ).properties(width=WIDTH, height=count * LANE_HEIGHT)


def spec(series: Series, events: list[Event] = (), interactive: bool = False,
         schema: LabelSchema = DEFAULT_SCHEMA) -> dict:
    """The Vega-Lite specification of the timeline, datasets included, in ``schema``'s colours
    and with its target in the title."""
    if not series.points:
        raise NothingToPlot("no dated sentences were counted")
    lanes = event_lanes(list(events), series.start, series.end)
    domain = {"param": "brush", "encoding": "x"} if interactive else [series.start, series.end]
    rows = [{**p, "kind": "point"} for p in series.points]
    rows += [{"kind": "event", "mid": e["date"], "key": panel["key"]}
             for e in lanes for panel in series.panels]
    rows += [{"kind": "edge", "mid": day, "key": panel["key"]}
             for day in (series.start, series.end) for panel in series.panels]
    parts = []
    if lanes:
        parts.append(_events_strip(series, lanes))
    parts += [_strip(series, interactive), _panels(series, domain, interactive, schema)]
    chart = alt.vconcat(*parts, spacing=6).resolve_scale(x="independent")
    off = len([e for e in events if not series.start <= e.date < series.end])
    chart = chart.properties(title=alt.Title(
        f"Stance toward {schema.target} per {series.by} and {series.facet}",
        subtitle=_subtitle(series, off), anchor="start", fontSize=15, subtitleFontSize=11,
        subtitleColor="#555"))
    result = chart.to_dict()
    if interactive:
        # A top-level variable bound to a menu; added to the dict because Altair's parameter
        # hoisting does not handle a parameter on a concatenation of facets.
        result.setdefault("params", []).append({
            "name": "panel_filter", "value": ALL_PANELS,
            "bind": {"input": "select", "options": [ALL_PANELS] + [p["key"] for p in series.panels],
                     "name": f"{series.facet}: "}})
    edges = [{"period": "", "start": day, "end": day, "n": 0, "articles": 0, "uncertain": 0}
             for day in (series.start, series.end)]
    result["datasets"] = {"points": rows, "periods": series.periods + edges, "events": lanes}
    result["config"] = {**result.get("config", {}), "font": "DejaVu Sans, Helvetica, Arial, sans-serif",
                        "view": {"stroke": "#ddd"}, "axis": {"labelFontSize": 11}}
    return result


def _subtitle(series: Series, events_off: int) -> list[str]:
    lines = [f"Lines: share of each stance among the {series.facet}'s counted sentences per {series.by} "
             "(neutral is the rest); bands and bars: 95% Wilson intervals; point size: sentences;",
             f"faded: fewer than {LOW_COUNT} sentences; grey bars: sentences per {series.by}, a gap is "
             "a period without articles."]
    left_out = []
    if series.uncertain_sentences:
        left_out.append(f"{series.uncertain_sentences:,} uncertain sentences")
    if series.undated_sentences:
        left_out.append(f"{series.undated_sentences:,} sentences of undated articles")
    if events_off:
        left_out.append(f"{events_off} event(s) outside the period shown")
    if left_out:
        lines.append("Not drawn: " + "; ".join(left_out) + ".")
    return lines


def png(series: Series, events: list[Event] = (), schema: LabelSchema = DEFAULT_SCHEMA) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(spec(series, events, schema=schema), scale=PNG_SCALE)


def scenegraph(series: Series, events: list[Event] = (), schema: LabelSchema = DEFAULT_SCHEMA) -> dict:
    import vl_convert as vlc

    return vlc.vegalite_to_scenegraph(spec(series, events, schema=schema))


def _net_rows(series: Series) -> list[dict]:
    """One row per period and panel with a net stance index; a period without one breaks the line."""
    rows, run, previous = [], 0, None
    for p in series.points:
        if p["stance"] != POLAR[0]:  # timeline puts the net index on the positive pole's points
            continue
        net = p.get("net")
        if net is None or (p["key"], p["run"]) != previous:
            run += 1
        previous = (p["key"], p["run"]) if net is not None else None
        if net is not None:
            rows.append({k: p[k] for k in ("key", "period", "mid", "n", "articles", "low",
                                           "net", "net_lo", "net_hi")} | {"run": run})
    sizes = {}
    for r in rows:
        sizes[r["run"]] = sizes.get(r["run"], 0) + 1
    for r in rows:
        r["single"] = sizes[r["run"]] == 1
    return rows


def net_spec(series: Series, interactive: bool = False) -> dict:
    """The net stance index per period and panel with its 95% interval, on the same time axis."""
    x = alt.X("mid:T", title=None, scale=alt.Scale(type="utc", domain=[series.start, series.end]),
              axis=alt.Axis(labelOverlap=True, labelFlush=True, tickCount=12))
    y = alt.Y("net:Q", title="net stance", scale=alt.Scale(domain=[-1, 1]),
              axis=alt.Axis(tickCount=3, format="+.1f"))
    base = alt.Chart()
    layers = [
        base.mark_rule(color="#999").encode(y=alt.datum(0)),
        base.transform_filter(~alt.datum.single).mark_area(opacity=0.18, color="#555").encode(
            x=x, y="net_lo:Q", y2="net_hi:Q", detail="run:N"),
        base.transform_filter(alt.datum.single).mark_rule(color="#555", strokeWidth=2, opacity=0.5).encode(
            x=x, y="net_lo:Q", y2="net_hi:Q"),
        base.mark_line(color="#333", strokeWidth=1.5).encode(x=x, y=y, detail="run:N"),
        base.mark_circle(color="#333").encode(
            x=x, y=y, size=alt.Size("n:Q", legend=None, scale=alt.Scale(type="sqrt", range=[12, 140])),
            opacity=alt.condition(alt.datum.low, alt.value(0.3), alt.value(0.95)),
            tooltip=[alt.Tooltip("key:N", title=series.facet), alt.Tooltip("period:N"),
                     alt.Tooltip("net:Q", title="net stance index", format="+.2f"),
                     alt.Tooltip("net_lo:Q", title="95% interval from", format="+.2f"),
                     alt.Tooltip("net_hi:Q", title="95% interval to", format="+.2f"),
                     alt.Tooltip("n:Q", title="sentences counted"), alt.Tooltip("articles:Q")]),
    ]
    if interactive:
        layers[3] = layers[3].add_params(alt.selection_interval(name="net_zoom", bind="scales",
                                                                encodings=["x"]))
    layer = alt.layer(*layers).properties(width=WIDTH, height=80)
    chart = layer.facet(data=alt.NamedData("net"), **_row(series, 10))
    result = chart.to_dict()
    result["datasets"] = {"net": _net_rows(series)}
    result["config"] = {"font": "DejaVu Sans, Helvetica, Arial, sans-serif", "view": {"stroke": "#ddd"}}
    return result
