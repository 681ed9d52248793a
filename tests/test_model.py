import json

import numpy as np
import pytest
from transformers import AutoTokenizer

from stance.model import StanceClassifier, base_encoder_path, default_model_dir
from stance.model_dir import WEIGHTS_FILE
from tests.conftest import ROOT

# Logits of the committed default model computed before the backends moved to stance/backends.
BEFORE = ROOT / "tests" / "fixtures" / "default_model" / "logits.json"


class _Idle:
    """Stands in for a backend: these tests only tokenise."""

    name, file, cpu_only, device = "idle", "none", False, "cpu"

    def logits(self, sequences, batch_size=64):
        raise AssertionError("not run")

    def close(self):
        pass


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(base_encoder_path())


def test_a_context_model_reads_the_sentence_first_then_its_context(tokenizer):
    classifier = StanceClassifier(_Idle(), tokenizer, context="previous", max_length=64)
    [ids] = classifier.token_ids(["He said the door is open."], ["Stoltenberg spoke in Kyiv."])
    words = tokenizer.convert_ids_to_tokens(ids)
    assert words[0] == "[CLS]" and words.count("[SEP]") == 2
    assert words.index("door") < words.index("[SEP]") < words.index("kyiv")


def test_a_sentence_given_alone_is_read_with_an_empty_context(tokenizer):
    classifier = StanceClassifier(_Idle(), tokenizer, context="previous")
    assert classifier.token_ids(["NATO met."]) == classifier.token_ids(["NATO met."], [""])


def test_a_sentence_model_ignores_contexts(tokenizer):
    classifier = StanceClassifier(_Idle(), tokenizer, context="none")
    assert classifier.token_ids(["NATO met."], ["Anything."]) == classifier.token_ids(["NATO met."])


def test_the_context_is_cut_before_a_long_sentence_is(tokenizer):
    classifier = StanceClassifier(_Idle(), tokenizer, context="previous", max_length=32)
    sentence = "Zelensky said Ukraine belongs in NATO."
    [ids] = classifier.token_ids([sentence], ["word " * 100])
    assert len(ids) == 32
    assert tokenizer.decode(ids).startswith("[CLS] zelensky said ukraine belongs in nato. [SEP]")


def test_an_unknown_context_mode_is_refused(tokenizer):
    with pytest.raises(ValueError, match="context mode"):
        StanceClassifier(_Idle(), tokenizer, context="paragraph")


@pytest.mark.skipif(not (default_model_dir() / WEIGHTS_FILE).exists(), reason="no trained model")
@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_each_backend_gives_the_logits_it_gave_before_the_refactor(backend):
    before = json.loads(BEFORE.read_text(encoding="utf-8"))
    classifier = StanceClassifier.load(device="cpu", backend=backend)
    expected = before["backends"][backend]
    if classifier.version != expected["version"]:
        pytest.skip(f"the default model was retrained ({classifier.version}); the fixture names "
                    f"{expected['version']}")
    assert classifier.backend == backend
    logits = classifier.predict_logits(before["sentences"], before["contexts"])
    np.testing.assert_allclose(logits, np.asarray(expected["logits"]), atol=2e-6)
    assert [int(i) for i in logits.argmax(axis=1)] == list(np.asarray(expected["logits"]).argmax(axis=1))
    classifier.close()
