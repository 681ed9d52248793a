from stance.actor_features import article_features
from stance.actors import _VERB, ActorAttributor


def features(texts, labels=None, furniture=None):
    furniture = furniture or [False] * len(texts)
    prepared, found = ActorAttributor(model=None).rule_pass(texts, furniture)
    return article_features(prepared, found, furniture, labels, _VERB)


def test_a_sentence_is_read_with_the_rules_answer_and_its_article():
    rows = features(["Zelensky said Ukraine must join NATO.", "He repeated it on Friday.",
                     "Peskov warned about Kyiv's bid."], ["pro-membership", "pro-membership", "opposing"])
    first, second, third = rows
    assert first["r:ukraine"] == 1 and first["first"] == 1 and "p1:ukraine" not in first
    assert second["p1:ukraine"] == 1 and second["h:ukraine"] == 1  # previous sentence and lead
    assert third["msub:russia"] == 1  # Peskov before a reporting verb
    assert third["mobj:ukraine"] == 1  # "about Kyiv's": the object, not the holder
    assert third["b:<russia>_warned"] == 1 and third["lab:opposing"] == 1
    assert 0 < third["art:ukraine"] < 1


def test_furniture_has_no_features_and_labels_are_optional():
    rows = features(["Read more: NATO summit", "Putin said Kyiv must never join."], None, [True, False])
    assert rows[0] is None
    assert not any(name.startswith("lab:") for name in rows[1])


def test_quoted_names_are_not_mentions():
    (row,) = features(["“Ukraine belongs in NATO,” Rutte said."])
    assert "m:ukraine" not in row and row["m:nato"] == 1 and row["w:§"] == 1
