"""Shared fixtures: the seed files and one tiny trained model for integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
ARTICLES = SEEDS / "articles"


def time_growth(fn, small, large, repeats: int = 5) -> float:
    """How many times longer ``fn(large)`` takes than ``fn(small)``: the best of ``repeats`` runs
    each, the two sizes taking turns, so a burst of load from other work on a shared machine falls
    on both rather than on one."""
    import time

    fn(small)  # warm caches (pysbd's rules, the gazetteer)
    best = {id(small): float("inf"), id(large): float("inf")}
    for _ in range(repeats):
        for arg in (small, large):
            started = time.perf_counter()
            fn(arg)
            best[id(arg)] = min(best[id(arg)], time.perf_counter() - started)
    return best[id(large)] / best[id(small)]


def read_article(stem: str) -> str:
    return next(ARTICLES.glob(f"{stem}*.txt")).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A real model trained for one epoch on 12 sentences per label: fast, not accurate."""
    from stance.train import TrainingConfig, train

    out = tmp_path_factory.mktemp("models")
    config = TrainingConfig(name="tiny", output_dir=str(out), epochs=1, limit_per_label=12,
                            device="cpu", bootstrap=0)
    train(config)
    return out / "tiny"


@pytest.fixture
def site():
    """The loopback web site of tests/fixtures/web (pages, feeds and exports linking to them)."""
    from tests.loopback import site as serve

    with serve() as server:
        yield server
