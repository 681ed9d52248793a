"""Soak and isolation of the stance service: errors and worker memory under sustained mixed load.

Starts `stance serve`, warms it up, then runs 32 closed-loop clients for ``--seconds``: mostly
one-sentence /classify, some short /score_article, some requests to random unknown paths (which
once grew /metrics without bound). Reports unexpected statuses, the worker's memory growth after
warm-up, /metrics size, and /classify p99 while one worst-case article (199,000 characters of
abbreviations) is scored. Prints JSON; writes nothing.

    .venv/bin/python benchmarks/soak.py [--model DIR] [--seconds 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stance.model import default_model_dir  # noqa: E402
from tests.process import ServiceProcess  # noqa: E402

CLIENTS = 32
WORST_ARTICLE = ("Mr. U.S. Sen. Dr. No. " * 10_000)[:199_000]
ARTICLE = "NATO leaders met in Vilnius. Zelensky said Ukraine belongs in the alliance."


def worker_rss(server: ServiceProcess) -> int:
    """Resident memory of the server's workers (its processes other than the supervisor)."""
    children = psutil.Process(server.process.pid).children(recursive=True)
    return sum(p.memory_info().rss for p in children if p.is_running())


async def load(url: str, seconds: float) -> dict:
    statuses: dict[str, int] = {}
    unexpected: list[str] = []
    errors = 0
    until = time.monotonic() + seconds

    async def client(index: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        n = 0
        while time.monotonic() < until:
            n += 1
            kind = "random" if n % 10 == 0 else "article" if n % 10 == 5 else "classify"
            if kind == "classify":
                body = {"texts": [f"Client {index}, {n}: Kyiv wants in."]}
                response = await http.post("/classify", json=body)
                ok = response.status_code == 200
            elif kind == "article":
                response = await http.post("/score_article", json={"text": ARTICLE})
                ok = response.status_code == 200
            else:
                response = await http.get(f"/soak-{index}-{n}-{os.urandom(3).hex()}")
                ok = response.status_code == 404
            key = f"{kind} {response.status_code}"
            statuses[key] = statuses.get(key, 0) + 1
            if not ok:
                errors += 1
                if len(unexpected) < 20:
                    unexpected.append(f"{key}: {response.text[:200]}")

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(i, http) for i in range(CLIENTS)))
    return {"statuses": statuses, "errors": errors, "unexpected": unexpected}


def classify_p99_under_worst_article(url: str) -> dict:
    done = {}
    thread = threading.Thread(target=lambda: done.setdefault(
        "status", httpx.post(f"{url}/score_article", json={"text": WORST_ARTICLE}, timeout=180).status_code))
    thread.start()
    time.sleep(1.5)
    latencies = []
    for i in range(50):
        started = time.perf_counter()
        httpx.post(f"{url}/classify", json={"texts": [f"Sentence {i}: Kyiv wants to join NATO."]}, timeout=60)
        latencies.append(time.perf_counter() - started)
    in_flight = thread.is_alive()
    thread.join(180)
    latencies.sort()
    return {"p50_ms": round(latencies[25] * 1000, 1), "p99_ms": round(latencies[49] * 1000, 1),
            "article_still_running": in_flight, "article_status": done.get("status")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model directory (default: the default model)")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the soak")
    parser.add_argument("--warmup", type=float, default=15.0, help="load before memory is first measured")
    args = parser.parse_args(argv)
    model = Path(args.model) if args.model else default_model_dir()
    with tempfile.TemporaryDirectory() as home, ServiceProcess(model, Path(home)) as server:
        asyncio.run(load(server.url, args.warmup))  # warm-up: allocator and caches settle
        before = worker_rss(server)
        soak = asyncio.run(load(server.url, args.seconds))
        after = worker_rss(server)
        metrics_bytes = len(httpx.get(f"{server.url}/metrics", timeout=30).content)
        isolation = classify_p99_under_worst_article(server.url)
    result = {"model": model.name, "clients": CLIENTS, "seconds": args.seconds, "warmup": args.warmup, **soak,
              "worker_rss_mib": [round(before / 2**20), round(after / 2**20)],
              "worker_rss_growth": round(after / before - 1, 4), "metrics_bytes": metrics_bytes,
              "classify_with_worst_article": isolation}
    print(json.dumps(result, indent=2))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
