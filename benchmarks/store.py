"""The corpus store (stance/store.py): write, size, timeline query time, memory of `score --db`,
and ingest of saved pages.

No real model runs here: the figures are the store's own costs. Predictions come from a fake
classifier (a hash of each sentence) or are generated in SQL, so the 2 shared cores stay free;
the model's time per sentence is in the throughput section and is the same either way
(stance.scoring.article_probabilities serves files and the store).

1. ``timeline``: 1M synthetic sentence rows (30,000 articles × 33 sentences, 2019–2024, labels and
   actors drawn at random) written straight into the store schema; the file size; the time of a
   per-month-per-actor timeline (stance.store.timeline) from a fresh Python process (imports, open
   and query: what `stance track --db` pays) and within one process.
2. ``memory``: peak RSS of `score_store` in a fresh process over 10k and over 100k stored
   sentences (fake classifier, the real actor attributor), and its sentences/s next to the file
   path (`score_articles` + actor attribution, as `stance track` does) on the same texts.
3. ``ingest``: N saved HTML pages made from templates with the publication date written the ways
   pages write it (meta tag, JSON-LD, ``<time>``, the text), a copyright footer in each, one feed
   and one CSV export: time per page, every input accounted for, and the share of pages whose
   date was read right.

Writes the ``store`` section of BENCHMARKS.md (``--no-write``: print only).

    .venv/bin/python benchmarks/store.py [--rows 1000000] [--pages 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Not `benchmarks.report_section`: a dependency installs a top-level package named `benchmarks`.
sys.path.insert(0, str(ROOT / "benchmarks"))

from report_section import cpu_name, publish  # noqa: E402


def _synthetic_store(path: str, rows: int, per_article: int = 33) -> dict:
    from stance.labels import ACTORS, LABELS, column
    from stance.store import open_store

    articles = rows // per_article
    started = time.perf_counter()
    with open_store(path) as store:
        db = store.db
        db.execute("BEGIN TRANSACTION")
        db.execute(f"""INSERT INTO articles (id, key, url, content_hash, published, ingested_at,
                           sentences, text)
                       SELECT i, 'a' || i, 'https://news.example/' || i, md5(i::VARCHAR),
                              DATE '2019-01-01' + CAST(floor(random() * 2190) AS INTEGER),
                              now(), {per_article}, 'text'
                       FROM range(1, {articles + 1}) t(i)""")
        db.execute(f"""INSERT INTO sentences SELECT a.i, s.j, s.j * 80, s.j * 80 + 79,
                           'Sentence ' || s.j || ' of article ' || a.i || ' about NATO and Ukraine.',
                           s.j % 11 = 10
                       FROM range(1, {articles + 1}) a(i), range(0, {per_article}) s(j)""")
        labels = ", ".join(f"'{label}'" for label in LABELS)
        actors = ", ".join(f"'{actor}'" for actor in ACTORS)
        probabilities = ", ".join(f"0.25 AS p_{column(label)}" for label in LABELS)
        db.execute("INSERT INTO models VALUES ('synthetic', 'synthetic', 'none', NULL, now())")
        db.execute(f"""INSERT INTO predictions
                       SELECT article_id, sentence_index, 'synthetic',
                              list_extract([{labels}], 1 + CAST(floor(random() * 4) AS INTEGER)),
                              0.4 + random() * 0.6, {probabilities}, furniture,
                              list_extract([{actors}], 1 + CAST(floor(random() * 5) AS INTEGER)),
                              NULL, 'synthetic', NULL
                       FROM sentences""")
        db.execute("INSERT INTO scored_articles SELECT id, 'synthetic', now() FROM articles")
        db.execute("COMMIT")
        db.execute("CHECKPOINT")
        counts = store.counts()
    return {"write_s": time.perf_counter() - started, "size_mb": os.path.getsize(path) / 1e6, **counts}


_FRESH_QUERY = """
import sys, time
started = time.perf_counter()
from stance.store import open_store, timeline
with open_store(sys.argv[1], read_only=True) as store:
    rows = timeline(store, "synthetic", "month", by_actor=True)
print(time.perf_counter() - started, len(rows))
"""


def bench_timeline(rows: int) -> dict:
    from stance.store import open_store, timeline

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "big.duckdb")
        result = _synthetic_store(path, rows)
        fresh = []
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", _FRESH_QUERY, path], capture_output=True,
                                 text=True, check=True, cwd=ROOT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
            seconds, table_rows = out.stdout.split()
            fresh.append(float(seconds))
        with open_store(path, read_only=True) as store:
            timeline(store, "synthetic", "month", by_actor=True)
            warm = []
            for _ in range(3):
                started = time.perf_counter()
                timeline(store, "synthetic", "month", by_actor=True)
                warm.append(time.perf_counter() - started)
    return {**result, "fresh_s": min(fresh), "fresh_all": fresh, "warm_s": min(warm),
            "table_rows": int(table_rows)}


_MEMORY_RUN = """
import json, resource, sys, time
from stance import scoring
from stance.incremental import score_store
from stance.store import open_store
from tests.test_cli import FakeClassifier
started = time.perf_counter()
with open_store(sys.argv[1]) as store:
    run = score_store(store, FakeClassifier())
    duckdb_mb = store.db.execute("SELECT sum(memory_usage_bytes) / 1e6 FROM duckdb_memory()").fetchone()[0]
elapsed = time.perf_counter() - started
print(json.dumps({"sentences": run.sentences, "seconds": elapsed, "duckdb_mb": duckdb_mb,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_FILES_RUN = """
import json, resource, sys, time
from stance.articles import read_inputs
from stance.tracking import track
from tests.test_cli import FakeClassifier
started = time.perf_counter()
tracking = track(FakeClassifier(), read_inputs([sys.argv[1]]))
elapsed = time.perf_counter() - started
print(json.dumps({"sentences": len(tracking.sentences) + len(tracking.uncertain), "seconds": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _corpus_texts(n_articles: int, per_article: int) -> list[str]:
    rng = random.Random(7)
    speakers = ["Zelensky said", "Lavrov said", "Stoltenberg told reporters", "The Kremlin said",
                "Diplomats said", "Scholz said"]
    claims = ["Ukraine belongs in NATO", "Kyiv must never join the alliance",
              "membership would have to wait until the war ends", "the summit would set no timeline"]
    return ["\n".join(f"{rng.choice(speakers)} that {rng.choice(claims)}, on day {i}, point {j}."
                      for j in range(per_article)) for i in range(n_articles)]


def bench_memory(sizes=(10_000, 100_000), per_article: int = 25) -> dict:
    from stance.articles import Article
    from stance.store import open_store

    out = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            texts = _corpus_texts(size // per_article, per_article)
            path = str(Path(tmp) / f"m{size}.duckdb")
            with open_store(path) as store:
                list(store.ingest(Article(id=f"a{i}", text=t) for i, t in enumerate(texts)))
            run = subprocess.run([sys.executable, "-c", _MEMORY_RUN, path], capture_output=True,
                                 text=True, check=True, cwd=ROOT, env=env)
            out[size] = json.loads(run.stdout)
            if size == sizes[0]:
                folder = Path(tmp) / "files"
                folder.mkdir()
                for i, text in enumerate(texts):
                    (folder / f"a{i}.txt").write_text(text, encoding="utf-8")
                files = subprocess.run([sys.executable, "-c", _FILES_RUN, str(folder)],
                                       capture_output=True, text=True, check=True, cwd=ROOT, env=env)
                out["files"] = json.loads(files.stdout)
    return out


_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title} | Planet {site}</title>
{head}</head><body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<div class="ad">Advertisement</div><article><h1>{title}</h1>{byline}
<p>{a}</p><p>{b}</p><p>Read also: {teaser}</p><p>{c}</p></article>
<section class="comments"><p>Great article, NATO should act now!</p></section>
<footer>Copyright 2005-2025 Planet {site}. All rights reserved.</footer></body></html>"""


def _pages(directory: Path, n: int) -> dict[str, str]:
    rng = random.Random(11)
    truth = {}
    texts = _corpus_texts(n, 3)
    for i in range(n):
        day = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(2190))
        style = i % 4
        head = byline = ""
        if style == 0:
            head = f'<meta property="article:published_time" content="{day.isoformat()}T08:00:00Z">'
        elif style == 1:
            head = ('<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"'
                    f'{day.isoformat()}T10:00:00Z"}}</script>')
        elif style == 2:
            byline = (f'<p class="byline">Published <time datetime="{day.isoformat()}">'
                      f'{day:%d %B %Y}</time></p>')
        else:
            byline = f'<p class="byline">By Staff, {day:%B} {day.day}, {day.year}</p>'
        a, b, c = texts[i].splitlines()
        (directory / f"page{i:04d}.html").write_text(_PAGE.format(
            title=f"Summit report {i}", site=i % 7, head=head, byline=byline, a=a, b=b, c=c,
            teaser=f"Kremlin says NATO summit declaration {i} confirms its fears"), encoding="utf-8")
        truth[f"page{i:04d}"] = day.isoformat()
    return truth


def bench_ingest(n_pages: int) -> dict:
    from stance.articles import ReadOptions, Skipped, read_inputs
    from stance.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pages"
        folder.mkdir()
        truth = _pages(folder, n_pages)
        web = ROOT / "tests" / "fixtures" / "web"
        (folder / "feed.atom").write_bytes((web / "feed.atom").read_bytes())
        (folder / "export.csv").write_text(
            "id,publish_date,title,text\n" + "".join(
                f"csv{i},2023-07-{10 + i},Row {i},Ministers said talk {i} of Ukraine's NATO bid went on.\n"
                for i in range(5)), encoding="utf-8")
        statuses: dict[str, int] = {}
        dated = {}
        skipped = []
        started = time.perf_counter()

        def articles():
            for item in read_inputs([str(folder)], options=ReadOptions(fetch=False)):
                if isinstance(item, Skipped):
                    skipped.append(item)
                    continue
                dated[item.id] = item.published
                yield item

        with open_store(str(Path(tmp) / "pages.duckdb")) as store:
            for result in store.ingest(articles()):
                statuses[result.status] = statuses.get(result.status, 0) + 1
            elapsed = time.perf_counter() - started
            furniture_teasers = store.db.execute(
                "SELECT count(*) FILTER (furniture), count(*) FROM sentences "
                "WHERE text LIKE 'Read also:%'").fetchone()
        right = sum(dated.get(key) == day for key, day in truth.items())
        by_style = {}
        for index, (key, day) in enumerate(truth.items()):
            style = ("meta", "json-ld", "time", "text")[index % 4]
            ok, total = by_style.get(style, (0, 0))
            by_style[style] = (ok + (dated.get(key) == day), total + 1)
    inputs = n_pages + 1 + 5  # pages, the feed's one entry, the CSV rows
    return {"pages": n_pages, "inputs": inputs, "seconds": elapsed, "ms_per_page": 1000 * elapsed / n_pages,
            "statuses": statuses, "skipped": len(skipped), "dates_right": right, "by_style": by_style,
            "teasers": furniture_teasers}


def _machine() -> str:
    import duckdb

    return (f"{dt.date.today().isoformat()} — {cpu_name()}, {os.cpu_count()} cores; Python "
            f"{platform.python_version()}, duckdb {duckdb.__version__}; 1-minute load average "
            f"{os.getloadavg()[0]:.1f} at the end (the cores are shared)")


def report(timeline_result: dict, memory: dict, ingest: dict) -> str:
    small, large = memory[10_000], memory[100_000]
    growth = large["peak_rss_mb"] / small["peak_rss_mb"] - 1
    db_rate = small["sentences"] / small["seconds"]
    file_rate = memory["files"]["sentences"] / memory["files"]["seconds"]
    fresh = timeline_result["fresh_s"]
    lines = [
        "## Corpus store (`benchmarks/store.py`)", "", _machine() + ".", "",
        "No real model runs in this benchmark: predictions come from a hash of each sentence (a fake "
        "classifier) or are generated in SQL, so these are the store's own costs. The model's time "
        "per sentence (the throughput section) is the same for files and the store.", "",
        "| measure | figure | goal |", "|---|---:|---|",
        f"| write {timeline_result['predictions']:,} synthetic sentence rows (articles, sentences, "
        f"predictions, one transaction) | {timeline_result['write_s']:.2f} s | |",
        f"| store file for them | {timeline_result['size_mb']:.0f} MB | |",
        f"| per-month-per-actor timeline ({timeline_result['table_rows']} rows), fresh process "
        f"(imports + open + query), best of 3 | {fresh:.2f} s "
        f"({', '.join(f'{s:.2f}' for s in timeline_result['fresh_all'])}) | ≤ 0.5 s: "
        f"**{'met' if fresh <= 0.5 else 'not met'}** |",
        f"| the same query in an open store, best of 3 | {timeline_result['warm_s']:.3f} s | |",
        f"| `score_store` peak RSS, 10k stored sentences | {small['peak_rss_mb']:.0f} MiB | |",
        f"| `score_store` peak RSS, 100k stored sentences | {large['peak_rss_mb']:.0f} MiB "
        f"({growth:+.1%}) | within 10%: **{'met' if abs(growth) <= 0.10 else 'not met'}** |",
        f"| of which DuckDB's own memory at the end (its block cache), 10k → 100k "
        f"| {small['duckdb_mb']:.1f} → {large['duckdb_mb']:.1f} MB | |",
        f"| `score_store`, sentences/s (fake classifier, real actor attribution, 10k) | {db_rate:,.0f} | |",
        f"| files (`track` on the same 10k sentences as .txt: read, segment, score, attribute) "
        f"| {file_rate:,.0f} | |",
        f"| ingest {ingest['pages']:,} saved pages + 1 feed + 1 CSV export (no fetching) "
        f"| {ingest['seconds']:.1f} s ({ingest['ms_per_page']:.1f} ms a page) | |",
        f"| inputs accounted for | {sum(ingest['statuses'].values()) + ingest['skipped']:,} of "
        f"{ingest['inputs']:,} ({', '.join(f'{v} {k}' for k, v in ingest['statuses'].items())}, "
        f"{ingest['skipped']} skipped) | all |",
        f"| pages dated right | {ingest['dates_right']:,} of {ingest['pages']:,} "
        f"({ingest['dates_right'] / ingest['pages']:.1%}): "
        + ", ".join(f"{style} {ok}/{total}" for style, (ok, total) in ingest["by_style"].items())
        + f" | ≥ 95%: **{'met' if ingest['dates_right'] >= 0.95 * ingest['pages'] else 'not met'}** |",
        f"| leaked 'Read also' teasers marked furniture | {ingest['teasers'][0]:,} of "
        f"{ingest['teasers'][1]:,} | all |",
        "",
        f"- `score --db` against files with the same fake classifier: {db_rate / file_rate:.2f}× the "
        "file path's sentences/s. Segmentation happens at ingest for the store, at scoring for "
        "files, so the file figure includes it; with the real model (hundreds of sentences/s) "
        "the model dominates both paths. The throughput goal (within 10% of files with the real "
        "model) was not measured on these shared cores.",
        "- Memory of `score --db`: what grows with the batches written is DuckDB's IN_MEMORY_TABLE "
        "(appended prediction rows held until a checkpoint, which comes at 16 MiB of WAL, about "
        "100k rows): bounded by that threshold, not by the corpus. The Python heap is flat. "
        "Checkpointing more often moved the rows into DuckDB's block cache without lowering peak "
        "RSS, and a lower allocator_flush_threshold stayed within the run-to-run spread.",
        "- The pages are generated from one template with four ways of printing the date and a "
        "'Copyright 2005-2025' footer on every page; real sites vary more, so the date share "
        "here checks the rules (metadata first, copyright years refused), not the web at large.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    timeline_result = bench_timeline(args.rows)
    print(json.dumps(timeline_result), file=sys.stderr)
    memory = bench_memory()
    print(json.dumps(memory), file=sys.stderr)
    ingest = bench_ingest(args.pages)
    print(json.dumps(ingest), file=sys.stderr)
    publish("store", report(timeline_result, memory, ingest), write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
