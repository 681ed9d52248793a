# PYTHON_ARGCOMPLETE_OK
"""The `stance` command: dataset build, train, eval, ingest, score, rescore, track, network,
export, serve, review.

Exit status: 0 done; 1 nothing could be scored (every input skipped; for `dataset build`:
near-duplicates found; for `review`: nothing to export or every answer rejected); 2 usage
error (a bad flag, a missing or unreadable input file, an output
that cannot be written as asked); 3 model problem (no trained model, an incomplete one, one for
other labels); 130 interrupted (Ctrl-C), after finishing the rows already written.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_NOTHING_SCORED = 1
EXIT_USAGE = 2
EXIT_MODEL = 3
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in the command line or its files: reported in one line, exit status 2."""


def _cmd_dataset_build(args) -> int:
    from stance import dataset, locate

    seeds = locate.seeds_dir(args.seeds)
    _require_seeds(seeds)
    splits = dataset.build(seeds)
    paths = dataset.write(splits, seeds / "dataset" if args.out is None else Path(args.out))
    texts = [r["text"] for r in dataset.content_rows(r for name in dataset.SPLITS for r in splits[name])]
    duplicates = dataset.near_duplicates(texts)
    for name in dataset.SPLITS:
        print(f"{name}: {len(splits[name])} sentences", file=sys.stderr)
    for path in paths:
        print(f"wrote {path}", file=sys.stderr)
    if duplicates:
        for i, j, score in duplicates[:20]:
            print(f"near-duplicate ({score:.2f}): {texts[i]!r} ~ {texts[j]!r}", file=sys.stderr)
        return 1
    return 0


def _require_seeds(seeds: Path) -> None:
    from stance import locate

    if not (seeds / "labels.jsonl").is_file():
        raise UsageError(f"no seed data at {seeds} (seeds/labels.jsonl, articles/, authored/): run "
                         f"from a checkout of the repository, or pass --seeds DIR or set "
                         f"${locate.SEEDS_ENV}")


def _training_config(args):
    from stance import locate
    from stance.train import TrainingConfig

    # In a checkout the config's defaults already point at its seeds/ and models/.
    checkout = locate.is_checkout()
    seeds = args.seeds or os.environ.get(locate.SEEDS_ENV) or (None if checkout else str(locate.seeds_dir()))
    output = args.output_dir or (None if checkout else str(locate.models_root()))
    overrides = {"name": args.name, "device": args.device, "epochs": args.epochs,
                 "seed": args.seed, "limit_per_label": args.limit_per_label, "seeds_dir": seeds,
                 "output_dir": output, "compare": True if args.compare else None,
                 "extra_labels": args.extra_labels, "extra_holdout": args.extra_holdout,
                 "baseline_model": args.baseline_model,
                 "replace_default": True if args.replace_default else None}
    if not args.config:
        return TrainingConfig(**{k: v for k, v in overrides.items() if v is not None})
    if not Path(args.config).is_file():
        raise UsageError(f"{args.config}: no such configuration file (see training/config.json)")
    try:
        return TrainingConfig.from_file(args.config, **overrides)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{args.config}: not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{args.config}: {exc}") from exc


def _cmd_train(args) -> int:
    from stance.train import compare_saved, report_text, train

    config = _training_config(args)
    _require_seeds(Path(config.seeds_dir))
    missing = [p for p in config.extra_labels if not Path(p).is_file()]
    if missing:
        raise UsageError(f"{missing[0]}: no such label file (write one with `stance review import`)")
    if config.extra_labels:
        from stance.corrections import CorrectionsError
        from stance.user_labels import split

        try:
            trained, held = split(config.extra_labels, config.extra_holdout)
        except (CorrectionsError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        if not trained:
            raise UsageError(f"{', '.join(config.extra_labels)}: no labelled sentence to train on "
                             f"({len(held)} held out)")
    if args.compare_only:
        from stance.card import comparison_table

        print(comparison_table(compare_saved(config)))
        return 0
    metrics = train(config)
    print(report_text(metrics))
    return 0


def _read_eval_rows(path: str) -> list[dict]:
    from stance.labels import LABELS

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it: {exc}") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{path}:{number}: malformed JSON: {getattr(exc, 'msg', exc)}") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise UsageError(f"{path}:{number}: each row needs a string field 'text'")
        if row.get("label") not in LABELS:
            raise UsageError(f"{path}:{number}: label {row.get('label')!r} is not one of "
                             f"{', '.join(LABELS)}")
        rows.append(row)
    if not rows:
        raise UsageError(f"{path}: no rows to evaluate")
    return rows


def _cmd_eval(args) -> int:
    from stance import leakage
    from stance.labels import schema_of
    from stance.metrics import evaluate, format_metrics

    rows = _read_eval_rows(args.data)
    classifier = _load_classifier(args)
    texts = [r["text"] for r in rows]
    # Rows may carry the sentence read before them ("context"), as the dataset splits do.
    probs = classifier.predict_proba(texts, contexts=[str(r.get("context") or "") for r in rows])
    schema = schema_of(classifier)
    metrics = evaluate([r["label"] for r in rows], schema.labels_of(probs), probabilities=probs,
                       schema=schema)
    metrics["model"] = classifier.name
    metrics["backend"] = classifier.backend
    metrics["seen_by_model"] = leakage.seen_rows(texts, classifier.info)
    seen = leakage.warning(metrics["seen_by_model"], len(rows))
    if seen:
        print(f"warning: {seen}", file=sys.stderr)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(format_metrics(metrics, f"{args.data} — model {classifier.name}", schema))
    return 0


def _progress(total_hint: str):
    from tqdm import tqdm

    # disable=None: a bar on an interactive stderr, silence in pipes and CI logs.
    return tqdm(desc=total_hint, unit="article", file=sys.stderr, disable=None)


def _load_classifier(args):
    """The model ``--model``, ``$STANCE_MODEL_DIR`` or the default names, with a hint when untrained."""
    from stance import locate
    from stance.model import ModelError, StanceClassifier

    path = locate.model_dir(args.model)
    reason = locate.untrained_reason(path)
    if reason:
        raise ModelError(reason)
    return StanceClassifier.load(path, device=args.device, backend=args.backend)


def _read_options(args):
    from stance.articles import ReadOptions
    from stance.tables import ColumnsError, parse_columns

    try:
        columns = parse_columns(getattr(args, "columns", None))
    except ColumnsError as exc:
        raise UsageError(str(exc)) from exc
    return ReadOptions(fetch=not getattr(args, "no_fetch", False), columns=columns)


def _inputs(args):
    from stance.articles import read_inputs

    return read_inputs(args.paths, options=_read_options(args))


def _announced(items, done: set[str] | None = None):
    """Inputs on their way to scoring: warnings printed, those finished by an earlier run dropped.

    Which CSV column dated a file's rows is said once per file.
    """
    from stance.articles import Article

    noted = set()
    for item in items:
        if done and item.id in done:
            continue
        if isinstance(item, Article):
            source = item.date_source or ""
            where = (item.path or "").rpartition(":")[0] or item.path
            if source.startswith("column") and (where, source) not in noted:
                noted.add((where, source))
                print(f"note: {where}: publication dates from {source}", file=sys.stderr)
            for warning in item.warnings:
                print(f"warning: {item.id}: {warning}", file=sys.stderr)
        yield item


def _human_labels(args):
    """The reviewed labels of ``--labels FILE...``, or None."""
    paths = getattr(args, "labels", None)
    if not paths:
        return None
    from stance.corrections import CorrectionsError, HumanLabels

    try:
        labels = HumanLabels.from_files(paths)
    except CorrectionsError as exc:
        raise UsageError(str(exc)) from None
    print(f"human labels: {len(labels)} sentence(s) from {', '.join(paths)}", file=sys.stderr)
    return labels


def _report_human_labels(labels) -> None:
    if labels is None:
        return
    for stale in labels.stale:
        print(f"label not applied: {stale}", file=sys.stderr)
    unused = labels.unused()
    print(f"human labels: {len(labels.applied)} applied, {len(labels.stale)} not applied (sentence "
          f"changed), {len(unused) - len(labels.stale)} for sentences not in these inputs",
          file=sys.stderr)


def _summary_row(result) -> dict:
    """The summary row with the input it came from (ids alone can repeat across directories)."""
    row = result.summary()
    path = result.article.path if result.article else result.skipped.id
    return {"article_id": row.pop("article_id"), "path": path, **row}


def _ingest_into(store, args, report=None) -> dict[str, int]:
    """Add ``args.paths`` to ``store``; every input reported (added, duplicate or skipped)."""
    from stance.records import Skipped

    counts = {"added": 0, "duplicate": 0, "skipped": 0, "sentences": 0}

    def record(key, status, reason=None, article_id=None, path=None):
        counts[status] += 1
        if status != "added":
            print(f"{status} {key}: {reason}", file=sys.stderr)
        if report is not None:
            report.write([{"input": path or key, "key": key, "status": status, "reason": reason,
                           "article_id": article_id}])

    def articles():
        for item in _announced(_inputs(args)):
            if isinstance(item, Skipped):
                record(item.id, "skipped", item.reason)
            else:
                yield item

    with _progress("ingesting") as bar:
        for result in store.ingest(articles()):
            counts["sentences"] += result.sentences
            record(result.key, result.status, result.reason, result.article_id, result.path)
            bar.update(1)
    return counts


def _ingest_line(counts: dict[str, int]) -> str:
    return (f"ingested {counts['added']} article(s), {counts['sentences']} sentences; "
            f"{counts['duplicate']} duplicate(s), {counts['skipped']} skipped")


def _open_store(args, read_only: bool = False):
    from stance.store import StoreError, open_store

    try:
        return open_store(args.db or None, read_only=read_only)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc


def _cmd_ingest(args) -> int:
    from stance.output import RowWriter, infer_format

    _read_options(args)
    report = RowWriter(args.report, infer_format(args.report, None)) if args.report else None
    try:
        with _open_store(args) as store:
            counts = _ingest_into(store, args, report)
            print(f"{_ingest_line(counts)} (store {store.path})", file=sys.stderr)
    finally:
        if report is not None:
            report.close()
    return EXIT_OK if counts["added"] or counts["duplicate"] else EXIT_NOTHING_SCORED


def _cmd_score_db(args) -> int:
    from stance.incremental import score_store

    for flag, value in (("-o", args.output), ("--summary", args.summary), ("--resume", args.resume),
                        ("--min-confidence", args.min_confidence)):
        if value:
            raise UsageError(f"{flag} does not apply with --db: scores go to the store (read them "
                             "with `stance track --db`); a killed run resumes by itself")
    if args.labels:
        raise UsageError("--labels does not apply with --db: put the labels into the store with "
                         "`stance review store LABELS.jsonl --db` and every reader of it uses them")
    _read_options(args)
    classifier = _load_classifier(args)
    with _open_store(args) as store:
        counts = _ingest_into(store, args) if args.paths else None
        if counts:
            print(_ingest_line(counts), file=sys.stderr)
        try:
            with _progress("scoring") as bar:
                run = score_store(store, classifier, progress=bar)
        except KeyboardInterrupt:
            print("interrupted: every committed batch is kept; rerun `stance score --db` to finish",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        print(f"scored {run.articles} article(s), {run.sentences} sentences with {run.version} "
              f"(store {store.path})", file=sys.stderr)
        stored = store.counts()["articles"]
    return EXIT_OK if stored else EXIT_NOTHING_SCORED


def _cmd_rescore(args) -> int:
    """Score every stored sentence under the model ``--model``, beside the other versions' rows."""
    from stance.incremental import model_version, score_store

    if not args.model:
        raise UsageError("rescore needs --model DIR: the model whose predictions are added beside "
                         "those already stored")
    classifier = _load_classifier(args)
    version = model_version(classifier)
    with _open_store(args) as store:
        stored = store.counts()["articles"]
        if not stored:
            print(f"nothing to rescore: the store {store.path} holds no article (add some with "
                  "`stance ingest`)", file=sys.stderr)
            return EXIT_NOTHING_SCORED
        previous = store.latest_model(exclude=version)
        todo = store.count_unscored(version)
        if todo < stored:
            print(f"{version} has scored {stored - todo} of {stored} article(s) already: "
                  f"{'nothing left to do' if not todo else f'scoring the other {todo}'}",
                  file=sys.stderr)
        try:
            with _progress("rescoring") as bar:
                run = score_store(store, classifier, progress=bar)
        except KeyboardInterrupt:
            print("interrupted: every committed batch is kept; rerun the same `stance rescore` to "
                  "finish", file=sys.stderr)
            return EXIT_INTERRUPTED
        print(f"rescored {run.articles} article(s), {run.sentences} sentences with {version} "
              f"(store {store.path})", file=sys.stderr)
        if previous is not None:
            both, changed = store.label_changes(previous, version)
            share = f" ({changed / both:.1%})" if both else ""
            print(f"compared with {previous}: {changed} of {both} content sentence(s) changed "
                  f"label{share}", file=sys.stderr)
    return EXIT_OK


def _cmd_export(args) -> int:
    """`stance export --db FILE --format parquet -o DIR`: one model version's rows as Parquet."""
    from stance.store_export import ExportError, export_parquet

    with _open_store(args, read_only=True) as store:
        version = _store_version(store, args.model_version)
        if version is None:
            return EXIT_NOTHING_SCORED
        try:
            result = export_parquet(store, version, args.output)
        except ExportError as exc:
            raise UsageError(str(exc)) from exc
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write the export: {exc}") from exc
    print(f"exported {result.sentences} sentence(s) of {result.articles} article(s) with {version} "
          f"to {result.directory} (years: {', '.join(result.years)})", file=sys.stderr)
    return EXIT_OK


def _cmd_score_ray(args) -> int:
    """`stance score --engine ray`: Parquet files in the directory -o (stance.ray_engine)."""
    from stance import locate
    from stance.model import ModelError, check_model_dir
    from stance.ray_engine import RayEngineError, RayOptions, score

    for flag, given in (("--summary", args.summary), ("--resume", args.resume),
                        ("--db", args.db is not None), ("--labels", getattr(args, "labels", None))):
        if given:
            raise UsageError(f"{flag} is not available with --engine ray: it writes sentence rows "
                             "to Parquet (summaries can be computed from them: see docs/ray.md)")
    if args.output in (None, "-"):
        raise UsageError("--engine ray needs -o DIR: a directory (or URI) for its Parquet files")
    if args.format not in (None, "parquet"):
        raise UsageError("--engine ray writes Parquet only")
    model = locate.model_dir(args.model).resolve()
    reason = locate.untrained_reason(model)
    if reason:
        raise ModelError(reason)
    check_model_dir(model)
    options = RayOptions(actors=args.actors, cpus_per_actor=args.cpus_per_actor,
                         gpus_per_actor=args.gpus_per_actor, address=args.address, device=args.device,
                         backend=args.backend, min_confidence=args.min_confidence)
    try:
        result, unread = score(args.paths, args.output, model, options)
    except RayEngineError as exc:
        raise UsageError(str(exc)) from exc
    for item in unread:
        print(f"skipped {item.id}: {item.reason}", file=sys.stderr)
    for article_id, why in result.skipped:
        print(f"skipped {article_id}: {why}", file=sys.stderr)
    print(f"scored {result.articles} article(s), {result.sentences} sentences; skipped "
          f"{len(unread) + len(result.skipped)}; wrote {args.output}", file=sys.stderr)
    return EXIT_OK if result.articles else EXIT_NOTHING_SCORED


def _cmd_score(args) -> int:
    if getattr(args, "engine", "local") == "ray":
        return _cmd_score_ray(args)
    from stance import resume
    from stance.output import RowWriter, check_destination, infer_format
    from stance.scoring import score_articles

    if args.db is not None:
        return _cmd_score_db(args)
    if not args.paths:
        raise UsageError("score needs inputs (or --db to score the store)")
    fmt = infer_format(args.output, args.format)
    check_destination(args.output, fmt)
    summary_fmt = infer_format(args.summary, None) if args.summary else None
    if args.resume and args.output in (None, "-"):
        raise UsageError("--resume needs -o FILE: it continues the rows already in that file")
    if args.resume and "parquet" in (fmt, summary_fmt):
        raise UsageError("--resume needs JSONL or CSV output: a Parquet file cannot be appended to")
    _read_options(args)  # a bad --columns is a usage error before the model loads
    labels = _human_labels(args)
    classifier = _load_classifier(args)
    done = resume.completed(args.output, fmt, args.summary, summary_fmt) if args.resume else set()
    if done:
        print(f"resuming: {len(done)} input(s) already in {args.output}", file=sys.stderr)
    scored = sentences = skipped = 0
    rows = RowWriter(args.output, fmt, append=args.resume)
    summaries = RowWriter(args.summary, summary_fmt, append=args.resume) if args.summary else None
    try:
        with _progress("scoring") as bar:
            items = _announced(_inputs(args), done)
            for result in score_articles(classifier, items, progress=bar,
                                         min_confidence=args.min_confidence, labels=labels):
                if result.ok:
                    scored += 1
                    sentences += len(result.sentences)
                    rows.write(s.to_row() for s in result.sentences)
                else:
                    skipped += 1
                    print(f"skipped {result.id}: {result.skipped.reason}", file=sys.stderr)
                # After the article's rows: a summary row means its rows are all written.
                if summaries is not None:
                    summaries.write([_summary_row(result)])
    except KeyboardInterrupt:
        where = f" in {args.output}" if args.output not in (None, "-") else ""
        print(f"interrupted: {scored} article(s) scored, their rows complete{where}"
              f"{'; rerun with --resume to finish' if where else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        rows.close()
        if summaries is not None:
            summaries.close()
    _report_human_labels(labels)
    print(f"scored {scored} article(s), {sentences} sentences; skipped {skipped}"
          f"{f'; {len(done)} done before' if done else ''}", file=sys.stderr)
    return EXIT_OK if scored or done else EXIT_NOTHING_SCORED


def _cmd_export_fast(args) -> int:
    from stance import locate
    from stance.exporting.quality import add_to_model_dir
    from stance.integrity import record_probe
    from stance.model import StanceClassifier

    model = locate.model_dir(args.model)
    record = add_to_model_dir(model, locate.seeds_dir(args.seeds))
    # Probe outputs of fp32 and of the new int8 file, which the service checks before serving.
    record_probe(StanceClassifier.load(model, device="cpu", backend="torch"), model)
    if "error" in record:
        print(f"error: no int8 model for {model}: {record['error']}", file=sys.stderr)
        return EXIT_MODEL
    print(json.dumps(record, indent=2))
    return 0


SERVICE = "service.service:StanceService"


def _port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (BentoML would say so in a 56-line traceback), or None."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return str(exc)
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _cmd_serve(args) -> int:
    from stance import locate
    from stance.model import ModelError, check_model_dir

    model = locate.model_dir(args.model).resolve()
    reason = locate.untrained_reason(model)
    if reason:
        raise ModelError(reason)
    # The service checks again on import; checking here gives a one-line error instead of a traceback.
    check_model_dir(model)
    # STANCE_BIND_HOST: the Host headers the service answers by default (service/browser_safety.py).
    env = {**os.environ, locate.MODEL_ENV: str(model), "STANCE_BIND_HOST": args.host}
    # The store of POST /articles and GET /timeline, absolute: BentoML may change directory.
    env[DB_ENV] = str(Path(args.db or os.environ.get(DB_ENV) or DEFAULT_DB).resolve())
    workers = args.workers if args.workers is not None else int(os.environ.get(WORKERS_ENV) or 1)
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if workers > 1 and args.db:
        raise UsageError("the corpus store takes one writing process: serve --db with --workers 1 "
                         "(and scale the other routes with more workers or replicas)")
    env[WORKERS_ENV] = str(workers)
    for name, value in (("BENTOML_DO_NOT_TRACK", "True"), ("HF_HUB_OFFLINE", "1"),
                        ("TRANSFORMERS_OFFLINE", "1")):
        env.setdefault(name, value)
    root = locate.CHECKOUT
    if not (root / "service" / "service.py").is_file():
        raise UsageError(f"{root}/service/service.py not found: `stance serve` runs from a checkout "
                         "installed with `pip install -e .` (or `make serve`)")
    busy = _port_in_use(args.host, args.port)
    if busy:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {busy}")
    command = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", args.host,
               "--port", str(args.port), "--working-dir", str(root)]
    store = f"corpus store {env[DB_ENV]}" if workers == 1 else "no corpus store (several workers)"
    print(f"serving {model.name} on http://{args.host}:{args.port} with {workers} worker(s) (Ctrl-C "
          f"stops); {store}", file=sys.stderr)
    sys.stderr.flush()
    # exec, not a child: the server runs in the foreground and gets signals (Ctrl-C, a killed
    # process group) directly.
    os.execve(sys.executable, command, env)
    return 0  # not reached


def _tracked(args):
    from stance.tracking import track

    _read_options(args)  # a bad --columns is a usage error before the model loads
    labels = _human_labels(args)
    classifier = _load_classifier(args)
    with _progress("tracking") as bar:
        tracking = track(classifier, _announced(_inputs(args)), by=args.by, progress=bar,
                         min_confidence=getattr(args, "min_confidence", None), labels=labels)
    _report_human_labels(labels)
    for skipped in tracking.skipped:
        print(f"skipped {skipped.id}: {skipped.reason}", file=sys.stderr)
    if tracking.undated:
        print(f"undated: {len(tracking.undated)} article(s) without a publication date, counted in "
              f"period 'undated': {', '.join(tracking.undated[:10])}"
              f"{' …' if len(tracking.undated) > 10 else ''}", file=sys.stderr)
    return tracking


# `--by-actor` absent, bare, or `detail` → the ``by_actor`` of `stance.tracking`.
_ACTOR_LEVELS = {None: False, "actor": True, "detail": "detail"}


def _store_version(store, asked: str | None) -> str | None:
    """The model version whose predictions to read: ``asked``, else the one that scored last;
    None (said on stderr) when nothing is scored."""
    version = asked or store.latest_model()
    if version is None:
        print("nothing scored in the store: run `stance score --db` first", file=sys.stderr)
        return None
    if version not in store.model_versions():
        raise UsageError(f"no predictions by {version!r}; the store has: "
                         f"{', '.join(store.model_versions()) or 'none'}")
    unscored = store.count_unscored(version)
    if unscored:
        print(f"note: {version} has not scored {unscored} stored article(s) yet (run `stance score "
              "--db` or `stance rescore` to finish): they are left out", file=sys.stderr)
    return version


def _cmd_track_db(args, table_fmt: str, sentences_fmt: str | None, events: list) -> int:
    from stance.output import RowWriter, write_rows
    from stance.store import timeline

    if args.paths:
        raise UsageError("with --db, track reads the store: add inputs with `stance ingest` and "
                         "score them with `stance score --db` first")
    if args.labels:
        raise UsageError("--labels applies to inputs scored now: with --db, import the labels into "
                         "the store (`stance review import … --db`) and track reads them there")
    by_actor = _ACTOR_LEVELS[args.by_actor]
    with _open_store(args, read_only=True) as store:
        version = _store_version(store, args.model_version)
        if version is None:
            return EXIT_NOTHING_SCORED
        rows = timeline(store, version, args.by, by_actor, args.min_confidence)
        if not rows:
            print("nothing scored: no table written", file=sys.stderr)
            return EXIT_NOTHING_SCORED
        write_rows(rows, args.output, table_fmt)
        if args.sentences:
            from stance.store_report import sentence_rows

            written = 0
            with RowWriter(args.sentences, sentences_fmt) as writer:
                for batch in sentence_rows(store, version, args.by, args.min_confidence):
                    writer.write(batch)
                    written += len(batch)
            print(f"wrote {written} sentence row(s) to {args.sentences}", file=sys.stderr)
        if args.plot or args.html:
            from stance import report
            from stance.store_report import page

            facet = "actor_detail" if by_actor == "detail" else "actor"
            shown = page(store, version, args.by, by_actor, facet, args.min_confidence)
            _write_pictures(args, report, shown, by_actor, events, facet)
    print(f"tracked {len(rows)} row(s) with {version}", file=sys.stderr)
    return EXIT_OK


def _write_pictures(args, report, tracking, by_actor, events, facet) -> None:
    """``--plot`` and ``--html`` of a tracking run or of a :class:`stance.report.Page`."""
    if args.plot:
        try:
            print(f"wrote {report.write_png(tracking, args.plot, events, facet)}", file=sys.stderr)
        except report.NothingToPlot as exc:
            print(f"no plot written: {exc}", file=sys.stderr)
    if args.html:
        print(f"wrote {report.write_html(tracking, args.html, by_actor, events, facet)}", file=sys.stderr)


def _cmd_track(args) -> int:
    from stance.output import check_destination, infer_format, write_rows

    table_fmt = infer_format(args.output, args.format, "csv")
    check_destination(args.output, table_fmt)
    if args.db is None and not args.paths:
        raise UsageError("track needs inputs (or --db to read the store)")
    sentences_fmt = infer_format(args.sentences, None) if args.sentences else None
    check_destination(args.sentences, sentences_fmt)
    events = []
    if args.events:
        from stance.events import EventsError, read_events

        if not (args.plot or args.html):
            raise UsageError("--events draws markers on --plot and --html: pass one of them")
        try:
            events = read_events(args.events)
        except EventsError as exc:  # before scoring: a typo in the file should not cost a run
            raise UsageError(str(exc)) from None
    if args.db is not None:
        return _cmd_track_db(args, table_fmt, sentences_fmt, events)
    tracking = _tracked(args)
    if not tracking.articles:
        print("nothing scored: no table written", file=sys.stderr)
        return EXIT_NOTHING_SCORED
    by_actor = _ACTOR_LEVELS[args.by_actor]
    facet = "actor_detail" if by_actor == "detail" else "actor"  # the pictures' panels
    write_rows(tracking.table(by_actor), args.output, table_fmt)
    if args.sentences:
        write_rows([s.to_row() for s in tracking.sentences + tracking.uncertain], args.sentences,
                   sentences_fmt)
    if args.plot or args.html:
        from stance import report

        _write_pictures(args, report, tracking, by_actor, events, facet)
    print(f"tracked {len(tracking.articles)} article(s), {len(tracking.sentences)} sentences; "
          f"skipped {len(tracking.skipped)}", file=sys.stderr)
    return 0


PERIOD_EXAMPLES = {"day": "2022-03-15", "week": "2022-W11", "month": "2022-03", "quarter": "2022-Q1",
                   "year": "2022"}


def _cmd_network(args) -> int:
    from stance.network import (
        edges_from_counts,
        graph_from_counts,
        sentence_counts,
        write_edges_csv,
        write_graphml,
    )
    from stance.store import network_counts
    from stance.tracking import UNDATED, period_of, period_sort_key

    if args.period and not args.by:
        raise UsageError("--period needs --by (the period unit)")
    if not (args.graphml or args.edges):
        raise UsageError("pass --graphml FILE and/or --edges FILE")
    if args.period and args.period != UNDATED and args.period != period_of(
            _period_start(args.period), args.by):
        raise UsageError(f"--period {args.period!r} is not a {args.by}: write it as "
                         f"{PERIOD_EXAMPLES[args.by]} (or {UNDATED})")
    per_period = args.by is not None and not args.period
    args.by = args.by or "year"  # any unit: without --by the network ignores periods
    if args.db is not None:
        if args.paths:
            raise UsageError("with --db, network reads the store: add inputs with `stance ingest` "
                             "and score them with `stance score --db` first")
        if args.labels:
            raise UsageError("--labels applies to inputs scored now: with --db, import the labels "
                             "into the store (`stance review import … --db`)")
        with _open_store(args, read_only=True) as store:
            version = _store_version(store, args.model_version)
            if version is None:
                return EXIT_NOTHING_SCORED
            counts = network_counts(store, version, args.by, args.detail)
    else:
        if not args.paths:
            raise UsageError("network needs inputs (or --db to read the store)")
        if args.model_version:
            raise UsageError("--model-version reads the store: pass --db too")
        tracking = _tracked(args)
        if not tracking.articles:
            return EXIT_NOTHING_SCORED
        counts = sentence_counts(tracking.sentences, args.detail)
    if args.period and not any(key[0] == args.period for key in counts):
        periods = sorted({key[0] for key in counts}, key=period_sort_key)
        print(f"warning: no sentences in period {args.period}; the periods found are: "
              f"{', '.join(periods) or 'none'}", file=sys.stderr)
    if args.graphml:
        graph = graph_from_counts(counts, args.period, per_period, args.include_neutral)
        print(f"wrote {write_graphml(graph, args.graphml)} ({graph.number_of_nodes()} nodes, "
              f"{graph.number_of_edges()} edges)", file=sys.stderr)
    if args.edges:
        rows = edges_from_counts(counts, args.period, per_period, args.include_neutral)
        print(f"wrote {write_edges_csv(rows, args.edges)} ({len(rows)} edges)", file=sys.stderr)
    return 0


def _period_start(period: str) -> str | None:
    """The first day of an ISO period as ``period_of`` writes it, None when it is not one."""
    from stance.tracking import period_bounds

    bounds = period_bounds(period)
    return bounds[1].isoformat() if bounds else None


def _probability(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {value!r}")
    return number


def _add_min_confidence(parser) -> None:
    parser.add_argument("--min-confidence", type=_probability, default=None, metavar="P",
                        help="sentences whose calibrated confidence is below P are kept, marked "
                             "uncertain, and left out of summaries and timelines")


def _add_labels(parser) -> None:
    parser.add_argument("--labels", nargs="+", default=None, metavar="LABELS.jsonl",
                        help="reviewed labels (`stance review import -o`): a human label replaces "
                             "the model's for its sentence while the text is unchanged; rows get "
                             "label_source human|model")


def _add_common(parser, model: bool = True) -> None:
    """Options every subcommand takes; ``-v`` is accepted after the subcommand as well as before."""
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log progress to stderr")
    if not model:
        return
    parser.add_argument("--model", default=None, metavar="DIR",
                        help="model directory (default: $STANCE_MODEL_DIR, else models/minilm-stance)")
    parser.add_argument("--device", default="auto",
                        help="auto (default: CUDA when available, else CPU), cpu, cuda, cuda:1 …")
    from stance.backends import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="auto (default): the int8 model on CPU when it is within 0.01 macro-F1 "
                             "of fp32, else torch")


INPUTS_HELP = (".txt/.md file, directory, .jsonl of articles, saved .html page, RSS/Atom feed, "
               ".csv export, http(s) URL, or - (stdin)")


DB_ENV, DEFAULT_DB = "STANCE_DB", "stance.duckdb"  # as stance.store, without importing duckdb
WORKERS_ENV = "STANCE_WORKERS"  # as service.limits


def _add_db(parser, what: str) -> None:
    parser.add_argument("--db", nargs="?", const="", default=None, metavar="FILE",
                        help=f"{what} (FILE default: ${DB_ENV}, else {DEFAULT_DB})")


def _add_input_options(parser) -> None:
    parser.add_argument("--no-fetch", action="store_true",
                        help="download nothing: URLs are skipped, feed entries keep their summary, "
                             "CSV rows without text are skipped")
    parser.add_argument("--columns", default=None, metavar="FIELD=COLUMN,…",
                        help="CSV columns for text, published, id, url, title, source (default: "
                             "found by the names Media Cloud and GDELT exports use)")


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {value!r}")
    return int(value)


def _non_negative(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {value!r}")
    return number


def _add_engine(parser) -> None:
    group = parser.add_argument_group("engine", "scoring on a Ray cluster (pip install 'stance[ray]'; "
                                      "docs/ray.md)")
    group.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local (default): this process; ray: JSONL/CSV/Parquet article tables from "
                            "paths or URIs (s3://, gs://…) to a directory of Parquet files (-o DIR)")
    group.add_argument("--actors", type=_positive_int, default=1,
                       help="ray: classifier actors, each loading the model once (default 1)")
    group.add_argument("--cpus-per-actor", type=_non_negative, default=1.0, metavar="N",
                       help="ray: CPUs per actor, also its classifier's threads (default 1)")
    group.add_argument("--gpus-per-actor", type=_non_negative, default=0.0, metavar="N",
                       help="ray: GPUs per actor (default 0; > 0 runs the CUDA path)")
    group.add_argument("--address", default=None,
                       help="ray: a running cluster (ray://host:10001, host:6379, auto); default "
                            "$RAY_ADDRESS, else a local cluster on 127.0.0.1")


INPUTS_HELP = ".txt/.md file, directory, .jsonl of articles, or - (stdin)"


def _add_tracking_parsers(sub) -> None:
    from stance.output import FORMAT_CHOICES
    from stance.tracking import PERIODS

    tk = sub.add_parser("track", help="stance shares per period (and actor) over time")
    tk.add_argument("paths", nargs="*", help=INPUTS_HELP)
    tk.add_argument("--by", choices=PERIODS, default="month", help="period unit (default month)")
    tk.add_argument("--by-actor", nargs="?", const="actor", default=None, choices=("actor", "detail"),
                    help="one row per period and actor; `--by-actor detail`: per country or "
                         "organisation holding the stance (actor_detail: US, DE, HU, UA, NATO…)")
    tk.add_argument("-o", "--output", default=None, help="the table (default CSV on stdout)")
    tk.add_argument("--format", choices=FORMAT_CHOICES, default=None,
                    help="table format (default: from the -o extension, else csv)")
    tk.add_argument("--plot", default=None,
                    help="PNG: stance shares per period with 95%% intervals, one panel per actor")
    tk.add_argument("--html", default=None,
                    help="self-contained interactive HTML page (works offline) with evidence")
    tk.add_argument("--events", default=None, metavar="CSV",
                    help="CSV with columns date,label: vertical markers on --plot/--html "
                         "(examples/events.csv)")
    tk.add_argument("--sentences", default=None,
                    help="sentence rows with actor (.jsonl, .csv or .parquet)")
    _add_min_confidence(tk)
    _add_labels(tk)
    _add_input_options(tk)
    _add_db(tk, "read the timeline from the store instead of scoring inputs")
    tk.add_argument("--model-version", default=None,
                    help="with --db: whose predictions (default: the model that scored last)")
    _add_common(tk)
    tk.set_defaults(func=_cmd_track)

    nw = sub.add_parser("network", help="actor × stance network as GraphML and a CSV edge list")
    nw.add_argument("paths", nargs="*", help=INPUTS_HELP)
    nw.add_argument("--graphml", default=None, help="GraphML file (Gephi, visone, networkx)")
    nw.add_argument("--edges", default=None, help="CSV edge list: source,target,weight,period")
    nw.add_argument("--by", choices=PERIODS, default=None,
                    help="split weights by period (w_<period> edge attributes, CSV rows per period)")
    nw.add_argument("--period", default=None, help="only this window, e.g. 2022-03 with --by month")
    nw.add_argument("--include-neutral", action="store_true", help="add edges to 'neutral'")
    nw.add_argument("--detail", action="store_true",
                    help="actor nodes are countries and organisations (actor_detail: US, HU, NATO…)")
    _add_input_options(nw)
    _add_labels(nw)
    _add_db(nw, "build the network from the store's predictions (and human labels) instead of "
                "scoring inputs")
    nw.add_argument("--model-version", default=None,
                    help="with --db: whose predictions (default: the model that scored last)")
    _add_common(nw)
    nw.set_defaults(func=_cmd_network)


def _read_articles(paths: list[str] | None) -> dict | None:
    """Articles by id from ``--articles`` inputs, each skipped input reported; None without any."""
    if not paths:
        return None
    from stance.articles import Article, read_inputs

    articles = {}
    for item in read_inputs(paths):
        if isinstance(item, Article):
            articles[item.id] = item
        else:
            print(f"skipped {item.id}: {item.reason}", file=sys.stderr)
    return articles


def _cmd_review_export(args) -> int:
    from stance import review
    from stance.actors import ActorAttributor

    if not (args.output or args.csv):
        raise UsageError("pass -o TASKS.json (Label Studio) and/or --csv TASKS.csv")
    if args.n < 1:
        raise UsageError(f"-n must be at least 1, got {args.n}")
    if (args.db is None) == (not args.scored):
        raise UsageError("pass the scored rows (`stance score -o FILE.jsonl`) or --db to sample "
                         "the store's predictions, not both")
    reviewed: set = set()
    if args.db is not None:
        from stance.store_labels import review_rows, reviewed_keys

        if args.articles:
            raise UsageError("--articles is for scored files: the store keeps dates and outlets")
        with _open_store(args, read_only=True) as store:
            version = _store_version(store, args.model_version)
            if version is None:
                return EXIT_NOTHING_SCORED
            rows, reviewed = review_rows(store, version), reviewed_keys(store)
        args.model_version = version
    else:
        try:
            rows = review.read_scored(args.scored)
        except review.ReviewError as exc:
            raise UsageError(str(exc)) from None
    articles = _read_articles(args.articles)
    if articles is not None:
        missing = sorted({r["article_id"] for r in rows} - set(articles))
        if missing:
            print(f"warning: {len(missing)} scored article(s) not among --articles, so without date "
                  f"and outlet: {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}",
                  file=sys.stderr)
    try:
        pool = review.candidates(rows, articles, ActorAttributor())
    except review.ReviewError as exc:
        raise UsageError(str(exc)) from None
    if reviewed:
        # Sentences the store already holds a human label for are not asked again.
        pool = [c for c in pool if (c.article_id, c.start, c.end) not in reviewed]
    if not pool:
        print("nothing to review: no content sentences in the scored rows"
              + (" left without a human label" if reviewed else ""), file=sys.stderr)
        return EXIT_NOTHING_SCORED
    if all(c.published is None for c in pool):
        print("note: no publication dates (pass --articles with the inputs given to `stance score`): "
              "the sample is not stratified by month", file=sys.stderr)
    chosen = review.select(pool, args.n, args.random_share, args.by, args.seed)
    tasks = [review.task(c, sample, args.model_version or "unknown") for c, sample in chosen]
    for path in review.write(tasks, Path(args.output) if args.output else None,
                             Path(args.csv) if args.csv else None):
        print(f"wrote {path}", file=sys.stderr)
    counts = {name: sum(s == name for _, s in chosen) for name in review.SAMPLES}
    print(f"exported {len(tasks)} of {len(pool)} content sentences ({counts[review.UNCERTAIN]} "
          f"uncertain, {counts[review.RANDOM]} random)", file=sys.stderr)
    return EXIT_OK


def _cmd_review_import(args) -> int:
    from stance import corrections

    if not args.output and args.db is None:
        raise UsageError("pass -o LABELS.jsonl and/or --db FILE: where the labels go")

    try:
        tasks = corrections.read_tasks(args.tasks) if args.tasks else None
        imported = corrections.read_answers(args.exports, tasks, _read_articles(args.articles),
                                            args.adjudicator)
    except corrections.CorrectionsError as exc:
        raise UsageError(str(exc)) from None
    for rejected in imported.rejected:
        print(f"rejected {rejected.where}: {rejected.reason}", file=sys.stderr)
    rows, warnings = corrections.resolve(imported.votes)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for row in rows:
        if row["agreement"] == corrections.TIE:
            votes = ", ".join(f"{a['annotator']}: {a['label']}" for a in row["annotators"])
            print(f"tie {row['article_id']} [{row['start']}:{row['end']}]: {votes}; left without a "
                  "label (pass --adjudicator NAME or add an annotation)", file=sys.stderr)
    if imported.unlabelled:
        print(f"{imported.unlabelled} task(s) or row(s) without an answer yet: not imported",
              file=sys.stderr)
    if not rows:
        print(f"nothing imported: {len(imported.rejected)} annotation(s) rejected", file=sys.stderr)
        return EXIT_NOTHING_SCORED
    if args.output:
        print(f"wrote {corrections.write_labels(rows, args.output)} ({len(rows)} sentence(s); "
              f"{len(imported.rejected)} annotation(s) rejected)", file=sys.stderr)
    if args.db is not None:
        stored = _labels_into_store(args, rows, args.exports)
        if not stored and not args.output:
            return EXIT_NOTHING_SCORED
    report = corrections.agreement_report(rows)
    print(corrections.format_report(report))
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.report}", file=sys.stderr)
    return EXIT_OK


def _labels_into_store(args, rows: list[dict], sources: list[str]) -> int:
    """Store the resolved label rows; every row the store refuses reported with its reason.
    How many rows it took."""
    from stance import store_labels

    with _open_store(args) as store:
        outcomes = store_labels.import_labels(
            store, ((f"{r['article_id']} [{r['start']}:{r['end']}]", r) for r in rows),
            source=", ".join(sources))
        path = store.path
    for outcome in outcomes:
        if outcome.status == store_labels.REJECTED:
            print(f"not applied {outcome.where}: {outcome.reason}", file=sys.stderr)
    print(f"human labels in {path}: {store_labels.summary(outcomes)}", file=sys.stderr)
    return sum(o.status != store_labels.REJECTED for o in outcomes)


def _cmd_review_store(args) -> int:
    """`stance review store LABELS.jsonl... --db`: label files written earlier, into the store."""
    from stance.corrections import CorrectionsError, read_labels

    try:
        rows = read_labels(args.labels)
    except CorrectionsError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK if _labels_into_store(args, rows, args.labels) else EXIT_NOTHING_SCORED


def _add_review_parsers(sub) -> None:
    from stance.review import UNCERTAINTY

    rv = sub.add_parser("review", help="sample sentences for human review; import the corrections")
    rv_sub = rv.add_subparsers(dest="review_command", required=True)
    ex = rv_sub.add_parser("export", help="Label Studio tasks and a CSV of sentences to review")
    ex.add_argument("scored", nargs="*", help="sentence rows from `stance score -o FILE.jsonl` "
                                              "(or --db)")
    ex.add_argument("-o", "--output", default=None, metavar="TASKS.json",
                    help="Label Studio tasks; the labelling config goes beside it "
                         "(TASKS.label_config.xml)")
    ex.add_argument("--csv", default=None, help="the same tasks as CSV, label/actor left to fill in")
    ex.add_argument("-n", type=int, default=200, help="sentences to export (default 200)")
    ex.add_argument("--random-share", type=_probability, default=0.25, metavar="P",
                    help="share drawn uniformly at random, which estimates accuracy without bias "
                         "(default 0.25)")
    ex.add_argument("--by", choices=UNCERTAINTY, default="margin",
                    help="uncertainty: margin between the two most probable labels (default) or "
                         "confidence")
    ex.add_argument("--articles", nargs="+", default=None, metavar="INPUT",
                    help="the inputs given to `stance score`: publication date and outlet for "
                         "stratifying")
    ex.add_argument("--model-version", default=None,
                    help="the model that scored the rows, kept in every task (with --db: whose "
                         "predictions to sample, default the latest)")
    ex.add_argument("--seed", type=int, default=13, help="seed of the random share")
    _add_db(ex, "sample the store's predictions (sentences it holds a human label for are left "
                "out)")
    _add_common(ex, model=False)
    ex.set_defaults(func=_cmd_review_export)

    im = rv_sub.add_parser("import", help="validate reviewed labels into a label file; agreement")
    im.add_argument("exports", nargs="+",
                    help="Label Studio JSON (or JSON-MIN) exports and/or filled-in CSV files")
    im.add_argument("-o", "--output", default=None, metavar="LABELS.jsonl",
                    help="the label file (-o and/or --db)")
    im.add_argument("--tasks", default=None, metavar="TASKS.json",
                    help="the exported tasks: answers to any other task are rejected")
    im.add_argument("--articles", nargs="+", default=None, metavar="INPUT",
                    help="the articles now: answers whose sentence changed since export are rejected")
    im.add_argument("--adjudicator", default=None, metavar="NAME",
                    help="this annotator's answer decides where annotators disagree")
    im.add_argument("--report", default=None, metavar="REPORT.json",
                    help="agreement and model accuracy as JSON")
    _add_db(im, "store the labels in the corpus store, where `track --db`, `export --db`, "
                "`network --db` and the service use them in place of the model's")
    _add_common(im, model=False)
    im.set_defaults(func=_cmd_review_import)

    st = rv_sub.add_parser("store", help="put label files (`review import -o`) into the corpus store")
    st.add_argument("labels", nargs="+", metavar="LABELS.jsonl", help="label files; a later file's "
                    "row for a sentence replaces an earlier one")
    _add_db(st, "the corpus store")
    _add_common(st, model=False)
    st.set_defaults(func=_cmd_review_store)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stance")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    from stance.output import FORMAT_CHOICES

    parser = argparse.ArgumentParser(
        prog="stance", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument("--version", action="version", version=f"stance {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    ds = sub.add_parser("dataset", help="build the labelled dataset")
    ds_sub = ds.add_subparsers(dest="dataset_command", required=True)
    build = ds_sub.add_parser("build", help="regenerate seeds/dataset/ from articles + labels")
    build.add_argument("--seeds", default=None,
                       help="seed directory (default: $STANCE_SEEDS_DIR, else the checkout's seeds/)")
    build.add_argument("--out", default=None, help="output directory (default SEEDS/dataset)")
    _add_common(build, model=False)
    build.set_defaults(func=_cmd_dataset_build)

    tr = sub.add_parser("train", help="train a model into models/<name>/")
    tr.add_argument("--config", default=None, help="JSON file of TrainingConfig fields")
    tr.add_argument("--name", default=None, help="model name: the directory under models/")
    tr.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:1 …")
    tr.add_argument("--epochs", type=int, default=None)
    tr.add_argument("--seed", type=int, default=None)
    tr.add_argument("--limit-per-label", type=int, default=None, help="smoke runs")
    tr.add_argument("--seeds", default=None,
                    help="seed directory (default: $STANCE_SEEDS_DIR, else the checkout's seeds/)")
    tr.add_argument("--output-dir", default=None, help="where models/<name>/ goes (default models/)")
    tr.add_argument("--compare", action="store_true",
                    help="also fit and compare every approach of the training report (slow)")
    tr.add_argument("--extra-labels", nargs="+", default=None, metavar="LABELS.jsonl",
                    help="also train on reviewed sentences (`stance review import -o`); the model "
                         "is named minilm-stance-user-<digest> unless --name says otherwise")
    tr.add_argument("--extra-holdout", type=float, default=None, metavar="SHARE",
                    help="share of the reviewed articles held out for the before/after figures "
                         "(default 0.3)")
    tr.add_argument("--baseline-model", default=None, metavar="DIR",
                    help="the 'before' model measured on the held-out reviewed articles "
                         "(default: the default model, when trained)")
    tr.add_argument("--replace-default", action="store_true",
                    help="with --extra-labels: write the default model's directory (overwrites it)")
    tr.add_argument("--compare-only", action="store_true",
                    help="the comparison report for the already trained model (no retraining)")
    _add_common(tr, model=False)
    tr.set_defaults(func=_cmd_train)

    ev = sub.add_parser("eval", help="evaluate a model on labelled JSONL rows")
    ev.add_argument("--data", required=True, help='JSONL rows {"text": ..., "label": ...}')
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    _add_common(ev)
    ev.set_defaults(func=_cmd_eval)

    sc = sub.add_parser("score", help="label every sentence of articles")
    sc.add_argument("paths", nargs="*", help=INPUTS_HELP)
    sc.add_argument("-o", "--output", default=None, help="sentence rows (default JSONL on stdout)")
    sc.add_argument("--format", choices=FORMAT_CHOICES, default=None,
                    help="sentence row format (default: from the -o extension, else jsonl)")
    sc.add_argument("--summary", default=None, help="one row per article (.jsonl, .csv or .parquet)")
    sc.add_argument("--resume", action="store_true",
                    help="continue an interrupted run: keep the complete rows in -o (and --summary), "
                         "score only the inputs not there yet")
    _add_min_confidence(sc)
    _add_labels(sc)
    _add_input_options(sc)
    _add_db(sc, "add the inputs (if any) to the store, then score every stored article the model "
                "has not scored yet")
    _add_common(sc)
    _add_engine(sc)
    sc.set_defaults(func=_cmd_score)

    ig = sub.add_parser("ingest", help="add articles (files, pages, feeds, CSV exports, URLs) to the store")
    ig.add_argument("paths", nargs="+", help=INPUTS_HELP)
    ig.add_argument("--db", default=None, metavar="FILE",
                    help=f"the store (default: ${DB_ENV}, else {DEFAULT_DB})")
    ig.add_argument("--report", default=None, metavar="FILE",
                    help="one row per input: added, duplicate or skipped, with the reason (.jsonl, .csv)")
    _add_input_options(ig)
    _add_common(ig, model=False)
    ig.set_defaults(func=_cmd_ingest)

    rs = sub.add_parser("rescore", help="score every stored sentence under another model, keeping "
                                        "the earlier models' predictions")
    rs.add_argument("--db", default=None, metavar="FILE",
                    help=f"the store (default: ${DB_ENV}, else {DEFAULT_DB})")
    _add_common(rs)
    rs.set_defaults(func=_cmd_rescore)

    xp = sub.add_parser("export", help="the store as Parquet partitioned by year (one model version)")
    xp.add_argument("--db", default=None, metavar="FILE",
                    help=f"the store (default: ${DB_ENV}, else {DEFAULT_DB})")
    xp.add_argument("--format", choices=("parquet",), default="parquet",
                    help="parquet (default, the only one): sentences/ and articles/, year=YYYY "
                         "directories")
    xp.add_argument("-o", "--output", required=True, metavar="DIR",
                    help="directory for export.json, sentences/ and articles/ (must not hold them yet)")
    xp.add_argument("--model-version", default=None,
                    help="whose predictions (default: the model that scored last)")
    _add_common(xp, model=False)
    xp.set_defaults(func=_cmd_export)

    ex = sub.add_parser("export-fast", help="add the int8 ONNX model (fast CPU path) to a model dir")
    ex.add_argument("--model", default=None, metavar="DIR",
                    help="model directory (default: $STANCE_MODEL_DIR, else models/minilm-stance)")
    ex.add_argument("--seeds", default=None,
                    help="seed directory whose validation splits check the int8 model")
    _add_common(ex, model=False)
    ex.set_defaults(func=_cmd_export_fast)

    sv = sub.add_parser("serve", help="run the HTTP service (BentoML) in the foreground")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=3000)
    sv.add_argument("--model", default=None, metavar="DIR",
                    help="model directory (default: $STANCE_MODEL_DIR, else the default model)")
    sv.add_argument("--db", default=None, metavar="FILE",
                    help=f"the corpus store of POST /articles and GET /timeline (default: ${DB_ENV}, "
                         f"else {DEFAULT_DB} here); the server holds it for writing once used")
    sv.add_argument("--workers", type=int, default=None, metavar="N",
                    help=f"worker processes, each with its own model and a share of the cores "
                         f"(default: ${WORKERS_ENV}, else 1); with more than one the corpus store "
                         "routes answer 503")
    _add_common(sv, model=False)
    sv.set_defaults(func=_cmd_serve)
    _add_tracking_parsers(sub)
    _add_review_parsers(sub)
    return parser


def _quiet_stdout() -> None:
    """After the reader of a pipe left (``| head``): later writes and the exit flush go nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        import argcomplete

        argcomplete.autocomplete(parser)
    except ImportError:  # completion is a convenience; the command works without it
        pass
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose or args.command == "train"
                        else logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    from stance.model import ModelError
    from stance.output import OutputError

    try:
        return args.func(args)
    except (UsageError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_MODEL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
