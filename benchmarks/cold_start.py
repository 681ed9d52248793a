"""Service cold start, resident memory after loading, model load time and training time.

- ``stance serve`` from process start to the first ``/readyz`` 200, and the resident memory of all
  its processes once ready; for the default (``auto``: int8 on CPU) model directory and for a copy
  without the int8 file (so the service falls back to torch fp32).
- A fresh Python process: import + ``StanceClassifier.load`` + one prediction, per backend, with its
  resident memory after loading.
- Training time of the default model: ``train_seconds`` from its run.json.

Writes the ``other`` section of BENCHMARKS.md (``--no-write``: print only).

    .venv/bin/python benchmarks/cold_start.py [--model DIR] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Not `benchmarks.report_section`: a dependency installs a top-level package named `benchmarks`.
sys.path.insert(0, str(ROOT / "benchmarks"))

from report_section import machine, publish, rss_bytes  # noqa: E402

from stance.model import default_model_dir  # noqa: E402
from stance.model_dir import INT8_FILE, ModelDir  # noqa: E402
from tests.process import ServiceProcess  # noqa: E402

MIB = 2**20
LOAD_SNIPPET = """
import json, sys, time
started = time.perf_counter()
from stance.model import StanceClassifier
c = StanceClassifier.load(sys.argv[1], device="cpu", backend=sys.argv[2])
loaded = time.perf_counter()
c.predict_proba(["NATO leaders met in Vilnius."])
ready = time.perf_counter()
status = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in open("/proc/self/status"))
          if k in ("VmRSS", "VmHWM")}
print(json.dumps({"backend": c.backend, "load_s": loaded - started, "ready_s": ready - started,
                  "rss_mib": status["VmRSS"] / 1024, "peak_rss_mib": status["VmHWM"] / 1024}))
"""


def tree_rss(root: int) -> tuple[int, int]:
    """Resident memory of a process and all its descendants (the server and its workers), and their count."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # Field 4 of /proc/PID/stat is the parent; the name in field 2 may contain spaces.
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier and pid not in tree]
        tree.update(children)
        frontier = children
    return sum(rss_bytes(pid) for pid in tree), len(tree)


def serve_once(model: Path, home: str, timeout: float = 300) -> dict:
    server = ServiceProcess(model, Path(home), extra_env={"HF_HUB_OFFLINE": "1"})
    try:
        seconds = server.wait_ready(timeout, poll=0.05)
        time.sleep(1.0)  # let start-up allocations settle before reading memory
        info = json.loads(urllib.request.urlopen(f"{server.url}/model", timeout=5).read())
        rss, processes = tree_rss(server.process.pid)
        return {"seconds": seconds, "rss_mib": rss / MIB, "processes": processes, "model": info.get("name")}
    finally:
        server.stop()


def without_int8(model: Path, into: Path) -> Path:
    """The model directory minus its int8 file (links, not copies), so `auto` falls back to torch."""
    into.mkdir()
    for item in model.iterdir():
        if item.name != INT8_FILE:
            (into / item.name).symlink_to(item.resolve())
    return into


def load_in_fresh_process(model: Path, backend: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET, str(model), backend], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def run(args) -> dict:
    model = Path(args.model) if args.model else default_model_dir()
    load_before = os.getloadavg()[0]
    report: dict = {"date": dt.date.today().isoformat(), "machine": machine(), "model": model.name,
                    "runs": args.runs, "load": {}, "serve": {}}
    for backend in ("onnx-int8", "torch"):
        runs = [load_in_fresh_process(model, backend) for _ in range(args.runs)]
        report["load"][backend] = {k: median_of(runs, k) for k in ("load_s", "ready_s", "rss_mib",
                                                                    "peak_rss_mib")}
        print(f"load {backend}: {report['load'][backend]}", file=sys.stderr)
    if (ROOT / "service" / "service.py").is_file() and not args.skip_service:
        with tempfile.TemporaryDirectory(prefix="stance-cold-") as home:
            plain = without_int8(model, Path(home) / model.name)
            for label, directory in (("auto (int8)", model), ("torch fp32 (no int8 file)", plain)):
                runs = [serve_once(directory, home) for _ in range(args.runs)]
                report["serve"][label] = {"seconds": median_of(runs, "seconds"),
                                          "rss_mib": median_of(runs, "rss_mib"),
                                          "processes": runs[-1]["processes"],
                                          "all_seconds": [r["seconds"] for r in runs]}
                print(f"serve {label}: {report['serve'][label]}", file=sys.stderr)
    metrics = ModelDir(model).info()  # with run.json: when, where and how long the model trained
    report["training"] = {"train_seconds": metrics.get("train_seconds"), "device": metrics.get("device"),
                          "epochs": metrics.get("config", {}).get("epochs"),
                          "train_sentences": metrics.get("data", {}).get("train_sentences"),
                          "trained_at": metrics.get("trained_at")}
    report["load_average"] = [load_before, os.getloadavg()[0]]
    return report


def to_markdown(report: dict) -> str:
    n = report["runs"]
    lines = [
        "## Cold start, memory and training time (`benchmarks/cold_start.py`)",
        "",
        f"{report['date']} — {report['machine']}. Model `{report['model']}`; medians of {n} runs. "
        f"1-minute load average {report['load_average'][0]:.1f} at the start and "
        f"{report['load_average'][1]:.1f} at the end (other jobs share these cores).",
        "",
    ]
    if report["serve"]:
        lines += [
            "| service (`stance serve`, BentoML, 1 worker) | process start → `/readyz` 200 | "
            "RSS of the server and its workers once ready |",
            "|---|---:|---:|",
            *(f"| {label} | {v['seconds']:.1f} s | {v['rss_mib']:,.0f} MiB ({v['processes']} processes) |"
              for label, v in report["serve"].items()),
            "",
        ]
    else:
        lines += ["Service cold start: not measured (no service/service.py in this checkout).", ""]
    lines += [
        "| in a fresh Python process | import + load | + first prediction | RSS after loading | peak RSS |",
        "|---|---:|---:|---:|---:|",
        *(f"| `StanceClassifier.load(backend=\"{b}\")` | {v['load_s']:.1f} s | {v['ready_s']:.1f} s "
          f"| {v['rss_mib']:,.0f} MiB | {v['peak_rss_mib']:,.0f} MiB |" for b, v in report["load"].items()),
        "",
    ]
    t = report["training"]
    if t.get("train_seconds") is not None:
        lines.append(f"Training the default model (`make model`: {t['epochs']} epochs over "
                     f"{t['train_sentences']:,} sentences on {t['device']}, then evaluation; from its "
                     f"run.json, trained {t['trained_at']}): {t['train_seconds']:.0f} s "
                     f"({t['train_seconds'] / 60:.1f} min), on the same shared 2-core machine.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model directory (default: the default model)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-service", action="store_true")
    parser.add_argument("--json", default=None, help="also write the raw figures here")
    parser.add_argument("--no-write", action="store_true", help="print, do not edit BENCHMARKS.md")
    args = parser.parse_args(argv)
    report = run(args)
    publish("other", to_markdown(report), write=not args.no_write, report=report, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
