"""Fine-tuning the encoder with a classification head, and fitting its temperature."""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter

import numpy as np
import torch

from stance import distill
from stance.augment import swap_speakers
from stance.backends import TorchFp32Runner
from stance.calibration import fit_temperature
from stance.config import TrainingConfig
from stance.labels import ID2LABEL, LABEL2ID, LABELS
from stance.model import StanceClassifier, base_encoder_path, encode, quiet_transformers, resolve_device

log = logging.getLogger(__name__)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fine_tune(config: TrainingConfig, rows: list[dict]) -> StanceClassifier:
    """Full fine-tuning with AdamW and linear warm-up/decay; deterministic on CPU for a seed.

    ``rows`` are dataset rows (``text``, ``label`` and, for a context model, ``context``).
    """
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
    if config.teacher_labels:
        rows, matched = distill.attach(rows, distill.read_soft_labels(distill.resolve(config.teacher_labels)))
        log.info("teacher logits %s: %d of %d rows matched", config.teacher_labels, matched, len(rows))
    # After the teacher's logits are attached: a swapped row keeps its original's target.
    rows = swap_speakers(rows, config.speaker_swap, config.seed)
    if config.speaker_swap:
        log.info("speaker swap: %d of %d rows say the same with another side's people",
                 sum(bool(r.get("speaker_swapped")) for r in rows), len(rows))
    texts, labels = _texts_labels(rows)
    contexts = [r.get("context") or "" for r in rows] if config.context != "none" else None
    encodings = encode(tokenizer, texts, contexts, config.max_length)
    targets = [LABEL2ID[label] for label in labels]
    # Soft targets where a teacher scored the row (stance.distill); zeros and a 0 mask elsewhere.
    has_teacher = torch.tensor([r.get("teacher_logits") is not None for r in rows], device=device)
    teacher_logits = torch.tensor(np.stack([
        np.asarray(r["teacher_logits"], dtype=np.float32) if r.get("teacher_logits") is not None
        else np.zeros(len(LABELS), dtype=np.float32) for r in rows]), device=device)
    distilling = bool(has_teacher.any()) and config.distill_weight > 0
    # Inverse-frequency weights: the seeds alone are 2/3 neutral.
    counts = Counter(targets)
    weights = torch.tensor(
        [len(targets) / (len(LABELS) * counts.get(i, 1)) for i in range(len(LABELS))],
        dtype=torch.float32, device=device,
    )
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    for layer in _encoder_layers(model)[:config.freeze_layers]:
        layer.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    steps = config.epochs * math.ceil(len(texts) / config.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * steps), steps)
    generator = torch.Generator().manual_seed(config.seed)
    use_amp = device.type == "cuda"
    lengths = [len(ids) for ids in encodings["input_ids"]]
    log.info("fine-tuning on %d sentences (%d tokens), %d epochs, %d steps", len(texts), sum(lengths),
             config.epochs, steps)
    if distilling:
        log.info("distilling: %d of %d sentences carry the teacher's logits (weight %.2f, T %.1f)",
                 int(has_teacher.sum()), len(rows), config.distill_weight, config.distill_temperature)
    model.train()
    started = time.perf_counter()
    done = 0
    # About twenty progress lines per run, each with the time left at the pace so far.
    report_every = max(1, steps // 20)
    for epoch in range(config.epochs):
        total = 0.0
        for idx in _bucketed_batches(lengths, config.batch_size, generator):
            batch = tokenizer.pad(
                {k: [encodings[k][i] for i in idx] for k in encodings}, return_tensors="pt"
            ).to(device)
            y = torch.tensor([targets[i] for i in idx], device=device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model(**batch).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), y, weight=weights,
                                                     label_smoothing=config.label_smoothing)
            if distilling:
                loss = _with_teacher(loss, logits.float(), teacher_logits[idx], has_teacher[idx], config)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item() * len(idx)
            done += 1
            if done % report_every == 0 or done == steps:
                elapsed = time.perf_counter() - started
                log.info("step %d/%d, %.0f s elapsed, about %.0f s left", done, steps, elapsed,
                         elapsed / done * (steps - done))
        log.info("epoch %d/%d loss %.4f", epoch + 1, config.epochs, total / len(texts))
    model.eval()
    return StanceClassifier(TorchFp32Runner(model, device, tokenizer.pad_token_id or 0), tokenizer,
                            max_length=config.max_length, context=config.context)


def _with_teacher(hard: torch.Tensor, logits: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor,
                  config: TrainingConfig) -> torch.Tensor:
    """The hard-label loss mixed with the distillation loss over the rows the teacher scored."""
    if not bool(mask.any()):
        return hard
    soft = distill.loss(logits[mask], teacher[mask], config.distill_temperature).mean()
    return (1 - config.distill_weight) * hard + config.distill_weight * soft


def calibrate(classifier: StanceClassifier, rows: list[dict]) -> float:
    """Fit the classifier's temperature on held-out ``rows`` and set it; returns the temperature."""
    logits = classifier.predict_logits([r["text"] for r in rows], [r.get("context", "") for r in rows])
    classifier.temperature = fit_temperature(logits, [LABEL2ID[r["label"]] for r in rows])
    return classifier.temperature


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


def _encoder_layers(model) -> list:
    """The transformer blocks, lowest first, of a BERT-style sequence classifier."""
    base = getattr(model, model.base_model_prefix)
    return list(base.encoder.layer)


def _texts_labels(rows):
    return [r["text"] for r in rows], [r["label"] for r in rows]
