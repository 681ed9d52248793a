import json

import numpy as np
import pytest

from stance.actor_model import FORMAT, ActorModel, default_actor_model, fit, frequent_features

ROWS = [{"r:ukraine": 1, "w:said": 1}, {"r:ukraine": 1}, {"r:russia": 1, "w:warned": 1},
        {"r:russia": 1}, {"r:none": 1, "w:shelling": 1}, {"r:none": 1}, {"r:none": 1, "w:rare": 1}]
ACTORS = ["ukraine", "ukraine", "russia", "russia", "none", "none", "none"]


def test_fit_learns_the_rules_answer_and_drops_one_off_features():
    model = fit(ROWS, ACTORS, c=10.0)
    assert [a for a, _ in model.predict([{"r:ukraine": 1}, {"r:russia": 1}, {"r:none": 1}])] == [
        "ukraine", "russia", "none"]
    assert "w:rare" not in model.features  # seen in one sentence only
    assert frequent_features(ROWS) == {"r:ukraine", "r:russia", "r:none"}
    probabilities = model.scores([{"r:ukraine": 1, "unknown feature": 1}])
    assert probabilities.shape == (1, 3) and np.isclose(probabilities.sum(), 1.0)


def test_a_model_round_trips_through_json_and_refuses_other_files(tmp_path):
    model = fit(ROWS, ACTORS, c=1.0, info={"trained_on": "test"})
    path = model.save(tmp_path / "actors.json")
    loaded = ActorModel.load(path)
    assert loaded.classes == model.classes and loaded.info["trained_on"] == "test"
    assert np.allclose(loaded.scores(ROWS), model.scores(ROWS), atol=1e-3)  # weights kept to 4 decimals
    with pytest.raises(ValueError, match="not an actor model"):
        ActorModel.from_json({"format": "something else"})
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT
    data["classes"] = ["ukraine", "martians", "none"]
    with pytest.raises(ValueError, match="unknown actor"):
        ActorModel.from_json(data)


def test_fitting_needs_three_actors():
    with pytest.raises(ValueError, match="three actors"):
        fit(ROWS[:4], ACTORS[:4], c=1.0)


def test_the_packaged_model_is_built():
    model = default_actor_model()
    assert model is not None, "stance/data/actor_model.json is missing: python -m stance.actor_training"
    assert set(model.classes) == {"ukraine", "russia", "nato", "other", "none"}
    assert model.info["trained_on"].startswith("article_train")


@pytest.mark.integration
def test_the_packaged_model_is_what_the_seeds_train(tmp_path):
    from stance.actor_training import main

    assert main(["--output", str(tmp_path / "actors.json")]) == 0
    rebuilt = ActorModel.load(tmp_path / "actors.json")
    packaged = default_actor_model()
    assert rebuilt.features == packaged.features, "retrain: python -m stance.actor_training"
    assert np.allclose(rebuilt.weights, packaged.weights, atol=2e-4)
