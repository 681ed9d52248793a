"""Where the model, the seed data and new models live when no flag says.

In a checkout (``pip install -e .``, ``make``) that is the checkout's ``models/`` and ``seeds/``;
installed elsewhere (``pip install .``) the package holds neither, so the working directory's
``models/`` and ``seeds/`` are used. ``$STANCE_MODEL_DIR`` and ``$STANCE_SEEDS_DIR`` override both,
for every command.
"""

from __future__ import annotations

import os
from pathlib import Path

from stance.model_dir import WEIGHTS_FILE

CHECKOUT = Path(__file__).resolve().parent.parent
MODEL_ENV = "STANCE_MODEL_DIR"
SEEDS_ENV = "STANCE_SEEDS_DIR"
# The name stance/model.py uses, here without importing torch.
DEFAULT_MODEL = "minilm-stance"
TRAIN_HINT = ("train it with `make model` in a checkout (4–12 min on CPU) or `stance train`, or "
              f"pass --model DIR or set ${MODEL_ENV}")


def is_checkout(root: Path | None = None) -> bool:
    root = root or CHECKOUT
    return (root / "pyproject.toml").is_file() and (root / "seeds").is_dir()


def _base() -> Path:
    return CHECKOUT if is_checkout() else Path.cwd()


def model_dir(explicit: str | os.PathLike | None = None) -> Path:
    """``explicit``, else ``$STANCE_MODEL_DIR``, else ``models/minilm-stance`` (see the module doc)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    return _base() / "models" / DEFAULT_MODEL


def models_root() -> Path:
    """Where `stance train` writes ``<name>/`` unless told."""
    return _base() / "models"


def seeds_dir(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get(SEEDS_ENV):
        return Path(os.environ[SEEDS_ENV])
    return _base() / "seeds"


def untrained_reason(path: Path) -> str | None:
    """Why ``path`` holds no trained model (the committed card alone makes the directory exist)."""
    if not path.is_dir():
        return f"no model at {path}: {TRAIN_HINT}"
    if not (path / WEIGHTS_FILE).is_file():
        return f"no trained model in {path} (no {WEIGHTS_FILE}, only its card): {TRAIN_HINT}"
    return None
