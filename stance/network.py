"""The actor × stance network, for Gephi, visone or networkx.

A directed bipartite graph: actor nodes (``kind=actor``) point to stance nodes (``kind=stance``);
an edge's ``weight`` is the number of sentences in which that actor holds that stance. With a
period unit, each edge also carries one ``w_<period>`` attribute per period (its weight in that
window), and the CSV edge list has one row per period; ``period`` restricts both to one window.
Neutral sentences are left out unless asked for: they would dominate every actor's edges. With
``detail`` the actor nodes are the countries and organisations holding the stances (``US``, ``HU``,
``NATO``; the coarse actor where no country is known).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import networkx as nx

from stance.labels import ACTORS, LABELS, STANCES
from stance.tracking import ALL, TrackedSentence, period_sort_key

# (period, holder, label) → sentences: what the network is built from, counted from tracked
# sentences here or in SQL by the store (stance.store.network_counts).
Counts = dict[tuple[str, str, str], int]


def sentence_counts(sentences: Iterable[TrackedSentence], detail: bool = False) -> Counts:
    return dict(Counter((s.period, (s.actor_detail or s.actor) if detail else s.actor, s.label)
                        for s in sentences))


def edges_from_counts(counts: Counts, period: str | None = None, per_period: bool = False,
                      include_neutral: bool = False) -> list[dict]:
    """:func:`edge_rows` from sentence counts per (period, holder, label)."""
    labels = LABELS if include_neutral else STANCES
    rows: Counter = Counter()
    for (p, holder, label), n in counts.items():
        if label in labels and (period is None or p == period):
            rows[(p if per_period or period else ALL, holder, label)] += n
    order = {name: i for i, name in enumerate(ACTORS)}
    keys = sorted(rows, key=lambda k: (period_sort_key(k[0]), order.get(k[1], -1), k[1],
                                       LABELS.index(k[2])))
    return [{"source": actor, "target": label, "weight": rows[(p, actor, label)], "period": p}
            for p, actor, label in keys]


def edge_rows(sentences: Iterable[TrackedSentence], period: str | None = None,
              per_period: bool = False, include_neutral: bool = False,
              detail: bool = False) -> list[dict]:
    """``source, target, weight, period`` rows; ``period`` is ``all`` unless split or windowed."""
    return edges_from_counts(sentence_counts(sentences, detail), period, per_period, include_neutral)


def stance_graph(sentences: Iterable[TrackedSentence], period: str | None = None,
                 per_period: bool = False, include_neutral: bool = False,
                 detail: bool = False) -> nx.DiGraph:
    """Actor → stance graph weighted by sentence counts (see the module docstring)."""
    return graph_from_counts(sentence_counts(sentences, detail), period, per_period, include_neutral)


def graph_from_counts(counts: Counts, period: str | None = None, per_period: bool = False,
                      include_neutral: bool = False) -> nx.DiGraph:
    """:func:`stance_graph` from sentence counts per (period, holder, label)."""
    graph = nx.DiGraph(name="actor-stance", period=period or ALL)
    for row in edges_from_counts(counts, period, False, include_neutral):
        graph.add_node(row["source"], kind="actor", label=row["source"])
        graph.add_node(row["target"], kind="stance", label=row["target"])
        graph.add_edge(row["source"], row["target"], weight=row["weight"], label=row["target"])
    if per_period and period is None:
        for row in edges_from_counts(counts, None, True, include_neutral):
            graph.edges[row["source"], row["target"]][f"w_{row['period']}"] = row["weight"]
        windows = {key for _, _, data in graph.edges(data=True) for key in data if key.startswith("w_")}
        for _, _, data in graph.edges(data=True):
            for key in windows:
                data.setdefault(key, 0)
    return graph


def write_graphml(graph: nx.DiGraph, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nx.write_graphml(graph, path)
    return path


def write_edges_csv(rows: list[dict], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["source", "target", "weight", "period"])
        writer.writeheader()
        writer.writerows(rows)
    return path
