"""Shared by the benchmark scripts: machine description and rewriting one BENCHMARKS.md section."""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"


def replace_section(name: str, body: str, path: Path = BENCHMARKS) -> None:
    """Rewrite only the text between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmarks\n"
    if start not in text or end not in text:
        text = text.rstrip("\n") + f"\n\n{start}\n{end}\n"
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{body.strip()}\n{end}{after}", encoding="utf-8")


def publish(name: str, text: str, *, write: bool = True, report: dict | None = None,
            json_path: str | None = None) -> None:
    """Print a benchmark's section; optionally save its raw figures and rewrite it in BENCHMARKS.md."""
    print(text)
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if write:
        replace_section(name, text)
        print(f"wrote the {name} section of {BENCHMARKS}", file=sys.stderr)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    import onnxruntime
    import torch
    import transformers

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    vnni = ", AVX-512 VNNI" if "avx512_vnni" in flags else ""
    memory = ""
    if hasattr(os, "sysconf"):
        memory = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu_name()}, {cores} cores{vnni}{memory}, {gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}, transformers {transformers.__version__}, "
            f"onnxruntime {onnxruntime.__version__}")


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak`` is the highest value seen."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.baseline = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def authored_corpus(size: int) -> list[dict]:
    """``size`` article records (id, text, published, source) made of the authored articles
    (``seeds/authored_articles``, laid out as text), repeated under new ids: a corpus with real
    paragraphs, quotes and names for the benchmarks that need many articles."""
    from stance.dataset import SEEDS_DIR, article_text

    records = []
    for source in sorted((SEEDS_DIR / "authored_articles").glob("*.jsonl")):
        for line in source.read_text(encoding="utf-8").splitlines():
            if line.strip():
                article = json.loads(line)
                records.append({"id": article["id"], "text": article_text(article)[0],
                                "published": article["published"], "source": article["source"]})
    return [{**records[k % len(records)], "id": f"{records[k % len(records)]['id']}-{k}"}
            for k in range(size)]


def write_jsonl(records: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(record) + "\n" for record in records)
    return path
