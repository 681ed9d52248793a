"""HTTP load on the stance service, next to in-process throughput of the same model in the same run.

Starts `stance serve` on a free loopback port, then measures single-sentence POST /classify:
sequential latency, throughput with p50/p99 latency at 8 and 32 concurrent clients (closed loop:
each client sends its next request when the last is answered), and sequential latency again right
after that load, for each server worker count (``--workers 1 2``: one server after another).
Batched in-process throughput of the same model is measured before and after.
Every phase is bounded by a request count and a time limit. Writes the `http_load` section of
BENCHMARKS.md (``--no-write``: print only).

    .venv/bin/python benchmarks/http_load.py [--model DIR] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Not a package: an installed dependency already owns the name `benchmarks`.
sys.path.insert(0, str(ROOT / "benchmarks"))

from report_section import machine, publish  # noqa: E402

from stance.model import StanceClassifier, check_model_dir, default_model_dir  # noqa: E402
from stance.segment import segment  # noqa: E402
from tests.process import ServiceProcess  # noqa: E402

REQUEST_TIMEOUT_S = 60
GOAL_P50_MS = 15.0
GOAL_RATIO = 0.70


def sentences() -> list[str]:
    """Real single sentences: the content sentences of the seed articles."""
    found = []
    for path in sorted((ROOT / "seeds" / "articles").glob("*.txt")):
        found += [s.text for s in segment(path.read_text(encoding="utf-8")) if not s.furniture]
    return found


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for POST /classify.

    The load generator shares the 2 cores with the server it measures; httpx's async client spent
    ~0.75 of a core at 250 requests/s, taking that much from the server. This costs a fraction.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        self.writer.write(head.encode("ascii") + body)
        status = int((await self.reader.readline()).split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def run_clients(url: str, texts: list[str], clients: int, max_requests: int,
                      seconds: float) -> dict:
    """Closed-loop load: ``clients`` workers, each one request in flight, until a bound is hit."""
    latencies: list[float] = []
    errors: Counter = Counter()
    issued = 0
    deadline = time.perf_counter() + seconds
    host, port = url.rsplit("//", 1)[1].rsplit(":", 1)
    bodies = [json.dumps({"texts": [text]}).encode("utf-8") for text in texts]

    async def worker():
        nonlocal issued
        connection = Connection(host, int(port))
        try:
            while issued < max_requests and time.perf_counter() < deadline:
                body = bodies[issued % len(bodies)]
                issued += 1
                start = time.perf_counter()
                try:
                    outcome = await asyncio.wait_for(connection.post("/classify", body), REQUEST_TIMEOUT_S)
                # TimeoutError is an OSError: a hung request counts as an error, not a hung benchmark.
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                    outcome = type(exc).__name__
                    connection.close()
                    connection = Connection(host, int(port))
                if outcome == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors[outcome] += 1
        finally:
            connection.close()

    cpu_before, began = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    result = summarise(latencies, errors, elapsed)
    result["client_cpu"] = (time.process_time() - cpu_before) / elapsed
    return result


def summarise(latencies: list[float], errors: Counter, elapsed: float) -> dict:
    ms = [x * 1000 for x in latencies]
    return {"requests": len(latencies) + sum(errors.values()), "errors": sum(errors.values()),
            "error_kinds": dict(errors),
            "throughput": len(latencies) / elapsed if elapsed else 0.0,
            "p50": percentile(ms, 50) if ms else float("nan"),
            "p99": percentile(ms, 99) if ms else float("nan")}


def sequential(url: str, texts: list[str], max_requests: int, seconds: float) -> dict:
    latencies, errors = [], Counter()
    deadline = time.perf_counter() + seconds
    began = time.perf_counter()
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        for i in range(max_requests):
            if time.perf_counter() > deadline:
                break
            start = time.perf_counter()
            try:
                outcome = client.post("/classify", json={"texts": [texts[i % len(texts)]]}).status_code
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            if outcome == 200:
                latencies.append(time.perf_counter() - start)
            else:
                errors[outcome] += 1
    return summarise(latencies, errors, time.perf_counter() - began)


def in_process(model: Path, texts: list[str], seconds: float, batch_size: int = 64) -> dict:
    """Sentences per second of predict_proba over the same sentences, batched as `stance score` does."""
    classifier = StanceClassifier.load(model, device="auto")
    classifier.predict_proba(texts[:batch_size])
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        classifier.predict_proba(texts, batch_size=batch_size)
        done += len(texts)
    elapsed = time.perf_counter() - began
    return {"throughput": done / elapsed, "sentences": done, "batch_size": batch_size,
            "device": str(classifier.device)}


def batch_sizes(url: str) -> str:
    """Mean texts per /classify model call the service reports (one text per request here, so the
    mean adaptive batch in requests)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = {}
    for kind in ("sum", "count"):
        match = re.search(rf"^stance_classify_batch_texts_{kind} ([0-9.e+]+)", text, re.MULTILINE)
        found[kind] = float(match.group(1)) if match else 0.0
    return f"{found['sum'] / found['count']:.1f}" if found["count"] else "n/a"


def render(results: dict) -> str:
    by_workers = results["rows"]
    before, after = results["in_process"]
    best = max(before["throughput"], after["throughput"])
    lines = [
        "## HTTP service load (`benchmarks/http_load.py`)",
        "",
        f"{results['date']} — {results['machine']}. Model `{results['model']}` on "
        f"{before['device']}; server and load client share the machine. POST /classify, "
        "one sentence per request (seed-article sentences), keep-alive connections; sequential rows "
        "use httpx, concurrent rows are closed-loop clients on a minimal asyncio HTTP/1.1 client "
        f"(its CPU share is in the last column), every phase bounded to {results['seconds']:.0f} s. "
        f"1-minute load average {results['load'][0]:.1f} at the start and {results['load'][1]:.1f} "
        "at the end (other jobs share the cores; absolute figures are only comparable within a run).",
        "",
        "| workers | load | requests | errors | throughput (sentences/s) | p50 ms | p99 ms "
        "| load client CPU |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for workers, rows in by_workers.items():
        for name, row in rows.items():
            cpu = f"{row['client_cpu']:.0%} of a core" if "client_cpu" in row else "—"
            lines.append(f"| {workers} | {name} | {row['requests']} | {row['errors']} | "
                         f"{row['throughput']:.1f} | {row['p50']:.1f} | {row['p99']:.1f} | {cpu} |")
    for when, run in (("before", before), ("after", after)):
        lines.append(f"| — | in-process `predict_proba`, batch {run['batch_size']} ({when} the HTTP "
                     f"runs) | {run['sentences']} | — | {run['throughput']:.1f} | — | — | — |")
    failed = {f"{workers} worker(s), {name}": row["error_kinds"]
              for workers, rows in by_workers.items() for name, row in rows.items() if row["error_kinds"]}
    if failed:
        lines += ["", "Errors by status or exception: " + "; ".join(
            f"{name}: " + ", ".join(f"{kind} ×{n}" for kind, n in kinds.items())
            for name, kinds in failed.items()) + "."]
    lines += [
        "",
        "Mean adaptive batch (requests per model call, whole run): " + ", ".join(
            f"{results['mean_batch'][w]} with {w} worker(s)" for w in by_workers) + ". "
        "The row right after 32 clients checks that a lone request is answered at once after a "
        "burst: /classify batches greedily (service/batcher.py; the requests that arrive while the "
        "model is busy share its next call, and none waits for company). With several workers each "
        "has its own batcher and its own share of the cores (`stance serve --workers N`, "
        "$STANCE_THREADS = cores / N).",
        "",
    ]
    for workers, rows in by_workers.items():
        p50 = rows["sequential"]["p50"]
        ratio = rows["32 clients"]["throughput"] / best
        errors32 = rows["32 clients"]["errors"]
        lines += [
            f"- {workers} worker(s): sequential single-sentence p50 {p50:.1f} ms (goal ≤ "
            f"{GOAL_P50_MS:.0f} ms on 2 CPU cores: {'met' if p50 <= GOAL_P50_MS else 'not met'}); "
            f"32 clients {ratio:.0%} of the higher in-process batched throughput, {errors32} errors "
            f"(goal ≥ {GOAL_RATIO:.0%}, zero errors: "
            f"{'met' if ratio >= GOAL_RATIO and errors32 == 0 else 'not met'}).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model directory (default: the default model)")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit per phase")
    parser.add_argument("--requests", type=int, default=2000, help="request limit per phase")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="server worker counts to measure, one server after another")
    parser.add_argument("--no-write", action="store_true", help="print, do not edit BENCHMARKS.md")
    args = parser.parse_args(argv)

    model = Path(args.model or os.environ.get("STANCE_MODEL_DIR") or default_model_dir())
    check_model_dir(model)
    texts = sentences()
    load_start = os.getloadavg()[0]
    # Before and after the HTTP phases: the machine is shared, and the higher figure is the bar.
    inproc = [in_process(model, texts, args.seconds)]
    by_workers, mean_batch = {}, {}
    for workers in args.workers:
        with tempfile.TemporaryDirectory(prefix="http-load-") as home:
            server = ServiceProcess(model, Path(home), extra_env={"STANCE_WORKERS": str(workers)})
            rows = by_workers[workers] = {}
            try:
                server.wait_ready()
                # Warm-up: each worker's first model calls allocate.
                sequential(server.url, texts, 30 * workers, args.seconds)
                rows["sequential"] = sequential(server.url, texts, min(args.requests, 500), args.seconds)
                for clients in (8, 32):
                    rows[f"{clients} clients"] = asyncio.run(
                        run_clients(server.url, texts, clients, args.requests, args.seconds))
                # The dispatcher keeps waiting for company as long as queues were recently long.
                rows["sequential, right after 32 clients"] = sequential(
                    server.url, texts, min(args.requests, 100), args.seconds)
                mean_batch[workers] = batch_sizes(server.url)
            finally:
                server.stop()
    inproc.append(in_process(model, texts, args.seconds))
    results = {"rows": by_workers, "in_process": inproc, "mean_batch": mean_batch, "seconds": args.seconds,
               "model": model.name, "machine": machine(), "date": dt.date.today().isoformat(),
               "load": (load_start, os.getloadavg()[0])}
    publish("http_load", render(results), write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
