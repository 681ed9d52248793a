"""The `stance` command: dataset build, train, eval, score, track, serve."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

EXIT_NOTHING_SCORED = 1
EXIT_USAGE = 2


def _cmd_dataset_build(args) -> int:
    from stance import dataset

    splits = dataset.build(Path(args.seeds))
    paths = dataset.write(splits, Path(args.seeds) / "dataset" if args.out is None else Path(args.out))
    texts = [r["text"] for name in dataset.SPLITS for r in splits[name]]
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


def _cmd_train(args) -> int:
    from stance.train import TrainingConfig, compare_saved, report_text, train

    overrides = {"name": args.name, "device": args.device, "epochs": args.epochs,
                 "seed": args.seed, "limit_per_label": args.limit_per_label,
                 "output_dir": args.output_dir, "compare": True if args.compare else None}
    if args.config:
        config = TrainingConfig.from_file(args.config, **overrides)
    else:
        config = TrainingConfig(**{k: v for k, v in overrides.items() if v is not None})
    if args.compare_only:
        from stance.card import comparison_table

        print(comparison_table(compare_saved(config)))
        return 0
    metrics = train(config)
    print(report_text(metrics))
    return 0


def _read_eval_rows(path: str) -> list[dict]:
    from stance.labels import LABELS

    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{number}: malformed JSON: {exc.msg}") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise SystemExit(f"{path}:{number}: each row needs a string field 'text'")
        if row.get("label") not in LABELS:
            raise SystemExit(f"{path}:{number}: label {row.get('label')!r} is not one of "
                             f"{', '.join(LABELS)}")
        rows.append(row)
    if not rows:
        raise SystemExit(f"{path}: no rows to evaluate")
    return rows


def _cmd_eval(args) -> int:
    from stance.labels import LABELS
    from stance.metrics import evaluate, format_metrics
    from stance.model import StanceClassifier

    rows = _read_eval_rows(args.data)
    classifier = StanceClassifier.load(args.model, device=args.device, backend=args.backend)
    probs = classifier.predict_proba([r["text"] for r in rows])
    predicted = [LABELS[i] for i in probs.argmax(axis=1)]
    metrics = evaluate([r["label"] for r in rows], predicted)
    metrics["model"] = classifier.name
    metrics["backend"] = classifier.backend
    if args.json:
        print(json.dumps(metrics))
    else:
        print(format_metrics(metrics, f"{args.data} — model {classifier.name}"))
    return 0


def _progress(total_hint: str):
    from tqdm import tqdm

    # disable=None: a bar on an interactive stderr, silence in pipes and CI logs.
    return tqdm(desc=total_hint, unit="article", file=sys.stderr, disable=None)


def _cmd_score(args) -> int:
    from stance.articles import read_inputs
    from stance.model import StanceClassifier
    from stance.output import infer_format, write_rows
    from stance.scoring import score_articles

    fmt = infer_format(args.output, args.format)
    classifier = StanceClassifier.load(args.model, device=args.device, backend=args.backend)
    sentence_rows, summaries, scored = [], [], 0
    with _progress("scoring") as bar:
        for result in score_articles(classifier, read_inputs(args.paths), progress=bar):
            summaries.append(result.summary())
            if result.ok:
                scored += 1
                sentence_rows += [s.to_row() for s in result.sentences]
            else:
                print(f"skipped {result.id}: {result.skipped.reason}", file=sys.stderr)
    write_rows(sentence_rows, args.output, fmt)
    if args.summary:
        write_rows(summaries, args.summary, infer_format(args.summary, None))
    skipped = len(summaries) - scored
    print(f"scored {scored} article(s), {len(sentence_rows)} sentences; skipped {skipped}",
          file=sys.stderr)
    return 0 if scored else EXIT_NOTHING_SCORED


def _cmd_export_fast(args) -> int:
    from stance.fast import add_to_model_dir
    from stance.integrity import record_probe
    from stance.model import StanceClassifier, default_model_dir

    model = Path(args.model) if args.model else default_model_dir()
    record = add_to_model_dir(model, Path(args.seeds))
    # Probe outputs of fp32 and of the new int8 file, which the service checks before serving.
    record_probe(StanceClassifier.load(model, device="cpu", backend="torch"), model)
    if "error" in record:
        print(f"error: no int8 model for {model}: {record['error']}", file=sys.stderr)
        return 1
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
    import os

    from stance.model import check_model_dir, default_model_dir

    model = Path(args.model or os.environ.get("STANCE_MODEL_DIR") or default_model_dir()).resolve()
    # The service checks again on import; checking here gives a one-line error instead of a traceback.
    check_model_dir(model)
    # STANCE_BIND_HOST: the Host headers the service answers by default (service/browser_safety.py).
    env = {**os.environ, "STANCE_MODEL_DIR": str(model), "STANCE_BIND_HOST": args.host}
    for name, value in (("BENTOML_DO_NOT_TRACK", "True"), ("HF_HUB_OFFLINE", "1"),
                        ("TRANSFORMERS_OFFLINE", "1")):
        env.setdefault(name, value)
    root = Path(__file__).resolve().parent.parent
    if not (root / "service" / "service.py").is_file():
        raise SystemExit(f"error: {root}/service/service.py not found: `stance serve` runs from a "
                         "checkout installed with `pip install -e .` (or `make serve`)")
    busy = _port_in_use(args.host, args.port)
    if busy:
        print(f"error: cannot listen on {args.host}:{args.port}: {busy}", file=sys.stderr)
        return 1
    command = [sys.executable, "-m", "bentoml", "serve", SERVICE, "--host", args.host,
               "--port", str(args.port), "--working-dir", str(root)]
    print(f"serving {model.name} on http://{args.host}:{args.port} (Ctrl-C stops)", file=sys.stderr)
    sys.stderr.flush()
    # exec, not a child: the server runs in the foreground and gets signals (Ctrl-C, a killed
    # process group) directly.
    os.execve(sys.executable, command, env)
    return 0  # not reached


def _tracked(args):
    from stance.articles import read_inputs
    from stance.model import StanceClassifier
    from stance.tracking import track

    classifier = StanceClassifier.load(args.model, device=args.device)
    with _progress("tracking") as bar:
        tracking = track(classifier, read_inputs(args.paths), by=args.by, progress=bar)
    for skipped in tracking.skipped:
        print(f"skipped {skipped.id}: {skipped.reason}", file=sys.stderr)
    if tracking.undated:
        print(f"undated: {len(tracking.undated)} article(s) without a publication date, counted in "
              f"period 'undated': {', '.join(tracking.undated[:10])}"
              f"{' …' if len(tracking.undated) > 10 else ''}", file=sys.stderr)
    return tracking


def _cmd_track(args) -> int:
    from stance.output import infer_format, write_rows

    tracking = _tracked(args)
    if not tracking.articles:
        print("nothing scored: no table written", file=sys.stderr)
        return EXIT_NOTHING_SCORED
    for path in (args.output, args.sentences):
        if path and path != "-":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_rows(tracking.table(args.by_actor), args.output, infer_format(args.output, args.format, "csv"))
    if args.sentences:
        write_rows([s.to_row() for s in tracking.sentences], args.sentences,
                   infer_format(args.sentences, None))
    if args.plot or args.html:
        from stance import report

        if args.plot:
            print(f"wrote {report.write_png(tracking, args.plot)}", file=sys.stderr)
        if args.html:
            print(f"wrote {report.write_html(tracking, args.html, args.by_actor)}", file=sys.stderr)
    print(f"tracked {len(tracking.articles)} article(s), {len(tracking.sentences)} sentences; "
          f"skipped {len(tracking.skipped)}", file=sys.stderr)
    return 0


def _cmd_network(args) -> int:
    from stance.network import edge_rows, stance_graph, write_edges_csv, write_graphml

    if args.period and not args.by:
        print("error: --period needs --by (the period unit)", file=sys.stderr)
        return EXIT_USAGE
    if not (args.graphml or args.edges):
        print("error: pass --graphml FILE and/or --edges FILE", file=sys.stderr)
        return EXIT_USAGE
    per_period = args.by is not None and not args.period
    args.by = args.by or "year"  # any unit: without --by the network ignores periods
    tracking = _tracked(args)
    if not tracking.articles:
        return EXIT_NOTHING_SCORED
    if args.graphml:
        graph = stance_graph(tracking.sentences, args.period, per_period, args.include_neutral)
        print(f"wrote {write_graphml(graph, args.graphml)} ({graph.number_of_nodes()} nodes, "
              f"{graph.number_of_edges()} edges)", file=sys.stderr)
    if args.edges:
        rows = edge_rows(tracking.sentences, args.period, per_period, args.include_neutral)
        print(f"wrote {write_edges_csv(rows, args.edges)} ({len(rows)} edges)", file=sys.stderr)
    return 0


def _add_tracking_parsers(sub) -> None:
    from stance.tracking import PERIODS

    tk = sub.add_parser("track", help="stance shares per period (and actor) over time")
    tk.add_argument("paths", nargs="+", help=".txt/.md file, directory, .jsonl of articles, or -")
    tk.add_argument("--by", choices=PERIODS, default="month", help="period unit (default month)")
    tk.add_argument("--by-actor", action="store_true", help="one row per period and actor")
    tk.add_argument("-o", "--output", default=None, help="the table (default CSV on stdout)")
    tk.add_argument("--format", choices=("jsonl", "csv", "parquet"), default=None)
    tk.add_argument("--plot", default=None, help="PNG of stance shares per period and actor")
    tk.add_argument("--html", default=None, help="self-contained HTML page with evidence")
    tk.add_argument("--sentences", default=None, help="sentence rows with actor (.jsonl or .csv)")
    tk.add_argument("--model", default=None)
    tk.add_argument("--device", default="auto")
    tk.set_defaults(func=_cmd_track)

    nw = sub.add_parser("network", help="actor × stance network as GraphML and a CSV edge list")
    nw.add_argument("paths", nargs="+", help=".txt/.md file, directory, .jsonl of articles, or -")
    nw.add_argument("--graphml", default=None, help="GraphML file (Gephi, visone, networkx)")
    nw.add_argument("--edges", default=None, help="CSV edge list: source,target,weight,period")
    nw.add_argument("--by", choices=PERIODS, default=None,
                    help="split weights by period (w_<period> edge attributes, CSV rows per period)")
    nw.add_argument("--period", default=None, help="only this window, e.g. 2022-03 with --by month")
    nw.add_argument("--include-neutral", action="store_true", help="add edges to 'neutral'")
    nw.add_argument("--model", default=None)
    nw.add_argument("--device", default="auto")
    nw.set_defaults(func=_cmd_network)


def _add_backend_argument(parser) -> None:
    parser.add_argument("--backend", choices=("auto", "torch", "onnx-int8"), default="auto",
                        help="auto (default): the int8 model on CPU when it is within 0.01 macro-F1 "
                             "of fp32, else torch")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stance", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    ds = sub.add_parser("dataset", help="build the labelled dataset")
    ds_sub = ds.add_subparsers(dest="dataset_command", required=True)
    build = ds_sub.add_parser("build", help="regenerate seeds/dataset/ from articles + labels")
    build.add_argument("--seeds", default=str(Path(__file__).resolve().parent.parent / "seeds"))
    build.add_argument("--out", default=None, help="output directory (default SEEDS/dataset)")
    build.set_defaults(func=_cmd_dataset_build)

    tr = sub.add_parser("train", help="train a model into models/<name>/")
    tr.add_argument("--config", default=None, help="JSON file of TrainingConfig fields")
    tr.add_argument("--name", default=None)
    tr.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:1 …")
    tr.add_argument("--epochs", type=int, default=None)
    tr.add_argument("--seed", type=int, default=None)
    tr.add_argument("--limit-per-label", type=int, default=None, help="smoke runs")
    tr.add_argument("--output-dir", default=None)
    tr.add_argument("--compare", action="store_true",
                    help="also fit the baselines and run leave-one-article-out (slow)")
    tr.add_argument("--compare-only", action="store_true",
                    help="the comparison report for the already trained model (no retraining)")
    tr.set_defaults(func=_cmd_train)

    ev = sub.add_parser("eval", help="evaluate a model on labelled JSONL rows")
    ev.add_argument("--data", required=True, help='JSONL rows {"text": ..., "label": ...}')
    ev.add_argument("--model", default=None, help="model directory (default: the default model)")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    _add_backend_argument(ev)
    ev.set_defaults(func=_cmd_eval)

    sc = sub.add_parser("score", help="label every sentence of articles")
    sc.add_argument("paths", nargs="+", help=".txt/.md file, directory, .jsonl of articles, or -")
    sc.add_argument("-o", "--output", default=None, help="sentence rows (default stdout)")
    sc.add_argument("--format", choices=("jsonl", "csv", "parquet"), default=None)
    sc.add_argument("--summary", default=None, help="one row per article (.jsonl or .csv)")
    sc.add_argument("--model", default=None)
    sc.add_argument("--device", default="auto")
    _add_backend_argument(sc)
    sc.set_defaults(func=_cmd_score)

    ex = sub.add_parser("export-fast", help="add the int8 ONNX model (fast CPU path) to a model dir")
    ex.add_argument("--model", default=None, help="model directory (default: the default model)")
    ex.add_argument("--seeds", default=str(Path(__file__).resolve().parent.parent / "seeds"),
                    help="seed directory whose authored test split checks the int8 model")
    ex.set_defaults(func=_cmd_export_fast)

    sv = sub.add_parser("serve", help="run the HTTP service (BentoML) in the foreground")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=3000)
    sv.add_argument("--model", default=None,
                    help="model directory (default: $STANCE_MODEL_DIR, else the default model)")
    sv.set_defaults(func=_cmd_serve)
    _add_tracking_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose or args.command == "train"
                        else logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    from stance.model import ModelError

    try:
        return args.func(args)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
