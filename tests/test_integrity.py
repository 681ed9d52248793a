import json
import shutil

import numpy as np
import pytest

from stance.integrity import PROBE_FILE, IntegrityError, record_probe, verify_probe
from stance.model_dir import file_digest


@pytest.fixture()
def model_copy(tiny_model_dir, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(tiny_model_dir, target)
    return target


def _load(path, backend="auto"):
    from stance.model import StanceClassifier

    return StanceClassifier.load(path, device="cpu", backend=backend)


@pytest.mark.integration
def test_training_records_probe_outputs_for_both_backends(tiny_model_dir):
    record = json.loads((tiny_model_dir / PROBE_FILE).read_text())
    assert set(record["backends"]) == {"torch", "onnx-int8"}
    for backend in record["backends"]:
        classifier = _load(tiny_model_dir, backend)
        assert verify_probe(classifier, tiny_model_dir) == \
            file_digest(tiny_model_dir / record["backends"][backend]["file"])


@pytest.mark.integration
def test_a_missing_record_or_other_file_fails_the_check(model_copy):
    classifier = _load(model_copy, "torch")
    (model_copy / PROBE_FILE).unlink()
    with pytest.raises(IntegrityError, match="no probe.json"):
        verify_probe(classifier, model_copy)
    record_probe(classifier, model_copy)
    assert verify_probe(classifier, model_copy)
    with (model_copy / "model.safetensors").open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(IntegrityError, match="model.safetensors is not the file"):
        verify_probe(classifier, model_copy)


@pytest.mark.integration
def test_outputs_that_differ_from_the_record_fail_the_check(model_copy):
    classifier = _load(model_copy, "onnx-int8")
    path = model_copy / PROBE_FILE
    record = json.loads(path.read_text())
    probabilities = np.asarray(record["backends"]["onnx-int8"]["probabilities"])
    record["backends"]["onnx-int8"]["probabilities"] = probabilities[:, ::-1].tolist()  # labels permuted
    path.write_text(json.dumps(record))
    with pytest.raises(IntegrityError, match="probe outputs"):
        verify_probe(classifier, model_copy)
