"""Every setting of a training run in one dataclass; ``training/config.json`` holds the default run."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from stance import dataset
from stance.context import check_mode
from stance.model import DEFAULT_MODEL, MODELS_DIR

# Settings that name this machine's paths or devices: kept out of the committed metrics.json.
MACHINE_SETTINGS = ("seeds_dir", "output_dir", "device", "extra_labels", "baseline_model")


@dataclass
class TrainingConfig:
    """Every setting of a training run; the defaults are the default model's."""

    name: str = DEFAULT_MODEL
    base_model: str | None = None  # a local directory; None → the packaged all-MiniLM-L6-v2
    seeds_dir: str = str(dataset.SEEDS_DIR)
    output_dir: str = str(MODELS_DIR)
    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 96
    # What the model reads besides the sentence: ``previous`` (the sentence before it) or ``none``.
    context: str = "previous"
    # Share of each target spread over the other labels: keeps logits from growing without bound
    # on the easy authored sentences, which is what makes the model overconfident on real news.
    label_smoothing: float = 0.0
    # A teacher's logits for the training rows (stance.distill; written by training/teacher.py),
    # relative to the repository or absolute; None trains on the gold labels alone.
    teacher_labels: str | None = None
    # Share of the loss taken by the teacher's softened distribution, and its temperature.
    distill_weight: float = 0.5
    distill_temperature: float = 2.0
    # Share of the training rows naming people whose people are swapped for another side's
    # (stance.augment): the label must come from what is said, not from who says it.
    speaker_swap: float = 0.5
    seed: int = 13
    device: str = "auto"
    include_seed_articles: bool = True
    # Keep the pretrained word-embedding matrix fixed: words absent from the small training set keep
    # their pretrained neighbours, and the 30k×384 matrix's AdamW update is skipped on every step.
    freeze_embeddings: bool = True
    # Also keep the lowest transformer layers fixed: their general reading of English is what the
    # small authored set cannot improve on, and their backward pass is skipped on every step.
    freeze_layers: int = 0
    # Cap on training sentences per label, for smoke runs; None trains on everything.
    limit_per_label: int | None = None
    # Also fit every approach of the training report (stance.train.compare; slow).
    compare: bool = False
    bootstrap: int = 1000
    # The user's reviewed sentences (`stance review import -o` files) to train on as well; a model
    # trained on them gets its own name (stance.user_labels) unless ``replace_default``.
    extra_labels: list[str] = field(default_factory=list)
    # Share of the user's articles held out to measure the model before and after retraining.
    extra_holdout: float = 0.3
    # The model measured as "before" on that held-out part; None: the default model, if trained.
    baseline_model: str | None = None
    replace_default: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> TrainingConfig:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"{path}: unknown training settings {sorted(unknown)}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def __post_init__(self):
        check_mode(self.context)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def portable_dict(self) -> dict:
        """The settings without this machine's paths (the committed metrics.json holds these)."""
        return {k: v for k, v in self.to_dict().items() if k not in MACHINE_SETTINGS}
