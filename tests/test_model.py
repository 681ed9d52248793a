import pytest
from transformers import AutoTokenizer

from stance.model import StanceClassifier, base_encoder_path


class _Idle:
    """Stands in for the torch model: these tests only tokenise."""

    def to(self, device):
        return self

    def eval(self):
        return self


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
