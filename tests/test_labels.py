import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from stance import charts
from stance.articles import read_inputs
from stance.labels import (
    DEFAULT_SCHEMA,
    LABELS,
    POLAR,
    STANCES,
    LabelSchema,
    dominant_of,
    label_of,
    labels_of,
)
from stance.metrics import evaluate
from stance.model_dir import LABEL_MAP_FILE
from stance.tracking import track
from tests.conftest import ARTICLES


def test_dominant_is_the_most_frequent_stance_with_its_share_and_mean_confidence():
    totals = {"neutral": (9, 8.0), "opposing": (3, 2.4), "conceding": (1, 0.9)}
    assert dominant_of(totals) == ("opposing", 0.75, 0.8)


def test_a_tie_goes_to_the_larger_summed_confidence_and_neutral_never_counts():
    assert dominant_of({"pro-membership": (2, 1.2), "conceding": (2, 1.8)})[0] == "conceding"
    assert dominant_of({"neutral": (5, 5.0)}) is None
    assert dominant_of({}) is None


def test_a_label_map_without_schema_fields_means_todays_schema():
    old = {"labels": list(LABELS), "max_length": 96, "context": "previous", "temperature": 1.3}
    assert LabelSchema.from_label_map(old) == DEFAULT_SCHEMA
    assert DEFAULT_SCHEMA.stances == STANCES and DEFAULT_SCHEMA.polar == POLAR
    assert DEFAULT_SCHEMA.target == "Ukraine joining NATO"
    assert LabelSchema.from_label_map(DEFAULT_SCHEMA.to_label_map()) == DEFAULT_SCHEMA


def test_metric_keys_and_columns_derive_from_the_schema():
    assert DEFAULT_SCHEMA.f1avg_key == "f1avg_pro_opposing"
    assert DEFAULT_SCHEMA.probability_columns == ("p_pro_membership", "p_conceding", "p_opposing",
                                                  "p_neutral")
    other = LabelSchema(polar=("conceding", "opposing"))
    assert other.f1avg_key == "f1avg_conceding_opposing"
    assert evaluate(["conceding", "opposing"], ["conceding", "neutral"], bootstrap=0,
                    schema=other)["f1avg_conceding_opposing"] == pytest.approx(0.5)


def test_the_label_is_the_most_probable_one_in_class_order():
    assert label_of([0.1, 0.2, 0.6, 0.1]) == "opposing"
    assert labels_of(np.array([[0.9, 0, 0, 0.1], [0, 0, 0.2, 0.8]])) == ["pro-membership", "neutral"]
    assert label_of([0.4, 0.4, 0.1, 0.1]) == LABELS[0]  # a tie goes to the earlier class, as argmax


@pytest.mark.parametrize("change, message", [
    ({"neutral": "none"}, "must be distinct and hold"),
    ({"polar": ["pro-membership", "neutral"]}, "polar pair"),
    ({"target": " "}, "target description is empty"),
])
def test_an_inconsistent_label_map_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        LabelSchema.from_label_map({**DEFAULT_SCHEMA.to_label_map(), **change})


@pytest.fixture(scope="module")
def georgia_model(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with another target and colours in its label map, and nothing else changed."""
    path = tmp_path_factory.mktemp("georgia") / "georgia"
    shutil.copytree(tiny_model_dir, path)
    label_map = json.loads((path / LABEL_MAP_FILE).read_text())
    label_map.update(target="Georgia joining NATO", colours={"pro-membership": "#00ff00"})
    (path / LABEL_MAP_FILE).write_text(json.dumps(label_map))
    return path


@pytest.mark.integration
def test_a_model_for_another_target_carries_it_to_card_model_info_and_charts(georgia_model, monkeypatch):
    # Importing the service checks the model it would serve: this one (a fresh clone has no default).
    monkeypatch.setenv("STANCE_MODEL_DIR", str(georgia_model))
    from service.service import describe_model
    from stance.card import write_card
    from stance.model import StanceClassifier
    from stance.report import page_of, render_html

    classifier = StanceClassifier.load(georgia_model, device="cpu")
    assert classifier.schema.target == "Georgia joining NATO"
    info = describe_model(classifier, "v1")
    assert info["target"] == "Georgia joining NATO" and info["colours"]["pro-membership"] == "#00ff00"
    assert info["metrics"]["test"]["f1avg_pro_opposing"] is not None

    card = write_card(georgia_model, json.loads((georgia_model / "metrics.json").read_text()))
    text = card.read_text()
    assert "stance toward **Georgia joining NATO**" in text and "Ukraine joining" not in text

    tracking = track(classifier, read_inputs([str(ARTICLES)]), by="month")
    page = page_of(tracking)
    spec = charts.spec(page.series, schema=page.schema)
    assert "Georgia joining NATO" in spec["title"]["text"]
    legend = next(layer["encoding"]["color"]["scale"] for layer in spec["vconcat"][-1]["spec"]["layer"]
                  if "color" in layer.get("encoding", {}))
    assert legend["range"][legend["domain"].index("pro-membership")] == "#00ff00"
    assert "<h1>Stance toward Georgia joining NATO" in render_html(tracking)
