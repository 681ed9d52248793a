"""`stance score --engine ray`: the batch API (stance.batch) on a Ray cluster.

Articles are read from JSONL, CSV or Parquet files (local paths or any filesystem pyarrow knows:
``s3://``, ``gs://``, ``hdfs://``…), segmented in CPU tasks, classified by a pool of actors that
each load the model once (``--actors``; ``--gpus-per-actor`` puts an actor on a GPU, where the
classifier takes its CUDA path), and written as a directory of Parquet files, one per block, with
stance.batch.SENTENCE_SCHEMA. Every article is in the output, as its sentences or as one row with
the reason it was skipped; the command lists those reasons after the write.

Ray is imported only here, and only when this engine runs: `stance` works without it. The traps
the prototypes met are handled below: a spare logical CPU in local mode (two 1-CPU actors on two
CPUs starved Ray's file-listing task and the run hung), a repartition when there are fewer input
files than actors (a single file is one block, and only one actor worked), a local cluster bound
to loopback (by default Ray listens on every interface), and ``--address`` (or ``$RAY_ADDRESS``,
which `ray job submit` sets) to join a running cluster instead.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from stance.articles import Skipped
from stance.batch import TABLE_SUFFIXES

# Read by ray._private.ray_constants at import: False makes a local Ray use 127.0.0.1 for every
# process (GCS, raylet, workers) instead of the machine's routable address.
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# Blocks per actor when the input has to be split: enough that a slow block does not leave the
# others idle, few enough that per-block overhead stays small.
BLOCKS_PER_ACTOR = 4
# Sentences per actor call: a GPU wants large batches (stance.backends.torch_fp32.CUDA_MIN_BATCH and up).
CPU_SENTENCES_PER_CALL = 1024
GPU_SENTENCES_PER_CALL = 16384


class RayEngineError(ValueError):
    """A run that cannot start as asked (no Ray, no input files, a bad option)."""


@dataclass(frozen=True)
class RayOptions:
    actors: int = 1
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    address: str | None = None
    device: str = "auto"
    backend: str = "auto"
    batch_size: int = 64
    min_confidence: float | None = None

    def check(self) -> None:
        if self.actors < 1:
            raise RayEngineError(f"--actors must be at least 1, got {self.actors}")
        if self.cpus_per_actor <= 0 or self.gpus_per_actor < 0:
            raise RayEngineError("--cpus-per-actor must be positive and --gpus-per-actor not negative")

    @property
    def threads(self) -> int:
        """Threads one actor's classifier uses: the CPUs Ray reserves for it, at least one."""
        return max(1, int(self.cpus_per_actor))

    @property
    def actor_device(self) -> str:
        if self.device != "auto":
            return self.device
        return "cuda" if self.gpus_per_actor > 0 else "cpu"


def _is_uri(raw: str) -> bool:
    return "://" in raw


def list_inputs(paths: list[str]) -> tuple[dict[str, list[str]], list[Skipped]]:
    """Input files by kind (jsonl, csv, parquet), directories walked, and every input not used.

    Listed here, in the driver, so a typo fails before a cluster starts and every unsupported file
    is reported by name, as `stance score` reports them.
    """
    import pyarrow.fs as pafs

    files: dict[str, list[str]] = {"jsonl": [], "csv": [], "parquet": []}
    skipped: list[Skipped] = []
    for raw in paths:
        try:
            if _is_uri(raw):
                fs, path = pafs.FileSystem.from_uri(raw)
                scheme = raw.split("://", 1)[0]

                def name(p, scheme=scheme):
                    return p if scheme == "file" else f"{scheme}://{p}"
            else:
                fs, path = pafs.LocalFileSystem(), str(Path(raw).resolve())

                def name(p):
                    return p
            info = fs.get_file_info(path)
            if info.type == pafs.FileType.NotFound:
                skipped.append(Skipped(raw, "no such file or directory"))
                continue
            if info.type == pafs.FileType.Directory:
                found = sorted((i for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
                                if i.type == pafs.FileType.File), key=lambda i: i.path)
                found = [i for i in found if not any(part.startswith(".") for part in
                                                     i.path[len(path):].split("/"))]
                if not found:
                    skipped.append(Skipped(raw, "directory holds no files"))
            else:
                found = [info]
        except (OSError, ValueError) as exc:  # an unknown scheme, missing credentials, no access
            skipped.append(Skipped(raw, f"cannot list it: {exc}"))
            continue
        for entry in found:
            suffix = Path(entry.path).suffix
            kind = TABLE_SUFFIXES.get(suffix.lower())
            if kind is None:
                skipped.append(Skipped(name(entry.path), f"unsupported file type {suffix or '(none)'}: "
                                       "--engine ray reads .jsonl, .csv and .parquet article tables"))
            else:
                files[kind].append(name(entry.path))
    return files, skipped


def _local_cpus(options: RayOptions) -> int:
    """Logical CPUs for a local cluster: the cores, and always one more than the actors take."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    needed = int(-(-options.actors * options.cpus_per_actor // 1)) + 1
    return max(cores, needed)


def init_ray(options: RayOptions):
    """Join the cluster at ``--address`` / ``$RAY_ADDRESS``, else start a local one on loopback."""
    import logging

    address = options.address or os.environ.get("RAY_ADDRESS")
    if not address:
        os.environ[LOOPBACK_ENV] = "0"
    try:
        import ray
    except ImportError as exc:
        raise RayEngineError("--engine ray needs Ray: pip install 'stance[ray]'") from exc
    if not ray.is_initialized():
        quiet = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
        if address:
            ray.init(address=address, **quiet)
        else:
            from ray._private import ray_constants

            ray_constants.ENABLE_RAY_CLUSTER = False  # ray was imported before the variable was set
            ray.init(address=None, num_cpus=_local_cpus(options), **quiet)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = sys.stderr.isatty()
    # Ray Data logs its execution plan at INFO on every run; the command prints its own summary.
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


def _parse_files(batch):
    """Rows of (bytes, path) → one articles table (stance.batch.read_article_bytes per file)."""
    import pyarrow as pa

    from stance.batch import read_article_bytes

    tables = [read_article_bytes(data, path) for data, path in
              zip(batch.column("bytes").to_pylist(), batch.column("path").to_pylist(), strict=True)]
    return pa.concat_tables(tables) if tables else read_article_bytes(b"", "empty.jsonl")


def _segment(batch):
    from stance.batch import segment_table

    return segment_table(batch, origin="parquet")


class SentenceClassifier:
    """A Ray actor: loads the model once, then labels batches of segmented sentences."""

    def __init__(self, model_dir: str, device: str, backend: str, threads: int, batch_size: int,
                 min_confidence: float | None):
        # The tokenizer's thread pool would otherwise take every core of the node.
        os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
        from stance.model import StanceClassifier

        self.classifier = StanceClassifier.load(model_dir, device=device, backend=backend, threads=threads)
        self.batch_size = batch_size
        self.min_confidence = min_confidence

    def __call__(self, batch):
        from stance.batch import classify_table

        return classify_table(self.classifier, batch, self.batch_size, self.min_confidence)


def build(ray, files: dict[str, list[str]], model_dir: str, options: RayOptions):
    """The Ray Data pipeline: read → (repartition) → segment (CPU tasks) → classify (actor pool)."""
    from stance.batch import articles_table

    tables = []
    text_files = files["jsonl"] + files["csv"]
    if text_files:
        raw = ray.data.read_binary_files(text_files, include_paths=True)
        tables.append(raw.map_batches(_parse_files, batch_format="pyarrow", batch_size=1))
    if files["parquet"]:
        tables.append(ray.data.read_parquet(files["parquet"]))
    if not tables:
        tables.append(ray.data.from_arrow(articles_table([])))
    blocks = options.actors * BLOCKS_PER_ACTOR
    parts = []
    for articles in tables:
        if len(text_files) + len(files["parquet"]) < blocks:
            # One file is one block, and one block goes to one actor: split before segmenting.
            articles = articles.repartition(blocks)
        # Segmented first: the parts then share one schema (SEGMENT_SCHEMA), whatever the inputs held.
        parts.append(articles.map_batches(_segment, batch_format="pyarrow", num_cpus=1))
    sentences = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    per_call = GPU_SENTENCES_PER_CALL if options.gpus_per_actor > 0 else CPU_SENTENCES_PER_CALL
    return sentences.map_batches(
        SentenceClassifier, batch_format="pyarrow", batch_size=per_call,
        fn_constructor_kwargs={"model_dir": model_dir, "device": options.actor_device,
                               "backend": options.backend, "threads": options.threads,
                               "batch_size": options.batch_size, "min_confidence": options.min_confidence},
        compute=ray.data.ActorPoolStrategy(size=options.actors),
        num_cpus=options.cpus_per_actor, num_gpus=options.gpus_per_actor or None)


@dataclass
class RunResult:
    articles: int
    sentences: int
    skipped: list[tuple[str, str]]


def summarise_output(output: str) -> RunResult:
    """Counts and skipped articles, read back from the written Parquet (two columns only)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    table = ds.dataset(output, format="parquet").to_table(columns=["article_id", "reason"])
    sentence_rows = pc.is_null(table.column("reason"))
    scored_ids = pc.unique(pc.filter(table.column("article_id"), sentence_rows))
    rejected = table.filter(pc.invert(sentence_rows))
    reasons = zip(rejected.column("article_id").to_pylist(), rejected.column("reason").to_pylist(),
                  strict=True)
    return RunResult(len(scored_ids), int(pc.sum(sentence_rows).as_py() or 0), list(reasons))


def check_output(output: str) -> None:
    """The output directory must be new or empty: Ray appends files, and old rows would mix in."""
    import pyarrow.fs as pafs

    try:
        fs, path = pafs.FileSystem.from_uri(output) if _is_uri(output) else (
            pafs.LocalFileSystem(), str(Path(output).resolve()))
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.File:
            raise RayEngineError(f"{output}: is a file; --engine ray writes a directory of Parquet files")
        if info.type == pafs.FileType.Directory and fs.get_file_info(pafs.FileSelector(path)):
            raise RayEngineError(f"{output}: directory is not empty; remove it or name a new one")
    except (OSError, ValueError) as exc:
        if isinstance(exc, RayEngineError):
            raise
        raise RayEngineError(f"{output}: cannot write there: {exc}") from exc


def score(paths: list[str], output: str, model_dir: str | Path, options: RayOptions) -> tuple[RunResult,
                                                                                               list[Skipped]]:
    """Score ``paths`` into the Parquet directory ``output``; (counts, inputs not read)."""
    options.check()
    check_output(output)
    files, unread = list_inputs(paths)
    if not any(files.values()):
        return RunResult(0, 0, []), unread
    ray = init_ray(options)
    scored = build(ray, files, str(model_dir), options)
    scored.write_parquet(output)
    return summarise_output(output), unread
