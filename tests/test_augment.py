import pytest

from stance.augment import SIDES, _people, speaker_reliance, swap_speakers

ROWS = [
    {"text": "Peskov said the strikes would continue.", "label": "neutral", "context": "Lavrov spoke first."},
    {"text": "Stoltenberg said Ukraine will become a member.", "label": "pro-membership", "context": ""},
    {"text": "The summit opens on Tuesday.", "label": "neutral", "context": "Peskov said so."},
    {"text": "No names here at all.", "label": "neutral"},
]


def _side(name):
    return _people()[0][name]


def test_every_named_row_is_swapped_at_share_one():
    out = swap_speakers(ROWS, 1.0)
    assert "Peskov" not in out[0]["text"] and "Lavrov" not in out[0]["context"]
    assert "Stoltenberg" not in out[1]["text"]
    assert out[2]["text"] == ROWS[2]["text"] and "Peskov" not in out[2]["context"]
    assert out[3] is ROWS[3]
    assert [r["label"] for r in out] == [r["label"] for r in ROWS]
    assert all(r.get("speaker_swapped") for r in out[:3])


def test_a_name_goes_to_another_side_and_the_same_name_maps_alike():
    rows = [{"text": "Putin met Putin's envoy.", "label": "neutral", "context": "Putin arrived."}]
    out = swap_speakers(rows, 1.0)[0]
    new = out["text"].split(" met ")[0]
    assert _side(new) in SIDES and _side(new) != "russia"
    assert out["text"] == f"{new} met {new}'s envoy." and out["context"] == f"{new} arrived."


def test_share_zero_leaves_rows_alone_and_the_input_is_never_changed():
    assert swap_speakers(ROWS, 0.0) is ROWS
    before = [dict(r) for r in ROWS]
    swap_speakers(ROWS, 1.0)
    assert before == ROWS


def test_the_swap_is_deterministic_and_takes_about_its_share():
    rows = [{"text": f"Zelensky spoke to reporters in city {i}.", "label": "neutral"} for i in range(400)]
    assert swap_speakers(rows, 0.5) == swap_speakers(rows, 0.5)
    swapped = sum(bool(r.get("speaker_swapped")) for r in swap_speakers(rows, 0.5))
    assert 150 < swapped < 250


def test_longer_spellings_are_matched_whole():
    out = swap_speakers([{"text": "Zelenskyy said it.", "label": "neutral"}], 1.0)[0]
    new = out["text"].removesuffix(" said it.")
    assert new in _people()[0] and _side(new) != "ukraine"


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share):
    with pytest.raises(ValueError, match="speaker_swap"):
        swap_speakers(ROWS, share)


def _by_name(texts, contexts):
    # Labels by who is named: a model that learned the speaker.
    return ["opposing" if "Peskov" in t or "Lavrov" in t else "neutral" for t in texts]


def _by_words(texts, contexts):
    return ["pro-membership" if "will become a member" in t else "neutral" for t in texts]


def test_speaker_reliance_catches_a_model_that_reads_the_speaker():
    rows = [{"text": "Peskov said the strikes would continue.", "label": "neutral"},
            {"text": "Lavrov said talks were off.", "label": "neutral"},
            {"text": "Stoltenberg said Ukraine will become a member.", "label": "pro-membership"},
            {"text": "No names here at all.", "label": "neutral"}]
    by_name = speaker_reliance(_by_name, rows)
    assert by_name["swapped_rows"] == 3
    # Peskov and Lavrov always go to another side; Stoltenberg may become Peskov or Lavrov.
    assert by_name["flip_rate"] >= 2 / 3
    assert by_name["macro_f1_swapped"] != by_name["macro_f1"]
    by_words = speaker_reliance(_by_words, rows)
    assert by_words["flip_rate"] == 0.0 and by_words["macro_f1_swapped"] == by_words["macro_f1"]
