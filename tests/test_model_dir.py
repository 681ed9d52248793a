"""ModelDir: the model directory's files, their JSON, the directory check and the version digest."""

import hashlib
import json

import pytest

from stance.labels import LABELS
from stance.model_dir import (
    CONFIG_FILE,
    LABEL_MAP_FILE,
    METRICS_FILE,
    REQUIRED_FILES,
    RUN_FILE,
    ModelDir,
    ModelError,
    file_digest,
)


def _complete(tmp_path, labels=LABELS):
    directory = ModelDir(tmp_path / "model")
    for name in REQUIRED_FILES:
        directory.write_text(name, "{}")
    directory.write_json(LABEL_MAP_FILE, {"labels": list(labels), "max_length": 64})
    directory.write_json(CONFIG_FILE, {"id2label": {str(i): label for i, label in enumerate(labels)}})
    return directory


def test_json_is_written_the_way_the_committed_files_are(tmp_path):
    directory = ModelDir(tmp_path / "new")
    path = directory.write_metrics({"model": "m", "test": {"macro_f1": 0.5}})
    assert path == tmp_path / "new" / METRICS_FILE
    assert path.read_text() == json.dumps({"model": "m", "test": {"macro_f1": 0.5}}, indent=2) + "\n"
    assert directory.metrics() == {"model": "m", "test": {"macro_f1": 0.5}}


def test_info_is_metrics_with_the_run_on_top_and_absent_files_read_as_empty(tmp_path):
    directory = ModelDir(tmp_path)
    assert directory.info() == {}
    directory.write_metrics({"model": "m", "device": "from metrics"})
    directory.write_json(RUN_FILE, {"device": "cuda", "train_seconds": 12.5})
    assert directory.info() == {"model": "m", "device": "cuda", "train_seconds": 12.5}
    with pytest.raises(FileNotFoundError):
        directory.read_json("missing.json")


def test_the_digest_is_the_files_sha256(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x" * (3 << 20))  # more than one read block
    assert file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ModelDir(tmp_path).digest("weights.bin") == file_digest(path)


def test_check_returns_the_label_map_of_a_complete_directory(tmp_path):
    assert _complete(tmp_path).check(LABELS)["max_length"] == 64


def test_check_says_what_is_wrong(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        ModelDir(tmp_path / "nowhere").check(LABELS)
    directory = _complete(tmp_path)
    with pytest.raises(ModelError, match="trained for labels"):
        directory.check(("yes", "no"))
    directory.write_json(CONFIG_FILE, {"id2label": {"0": LABELS[1], "1": LABELS[0]}})
    with pytest.raises(ModelError, match="id2label"):
        directory.check(LABELS)
    (directory / REQUIRED_FILES[1]).unlink()
    with pytest.raises(ModelError, match=f"missing {REQUIRED_FILES[1]}"):
        directory.check(LABELS)
