import json
import re
from pathlib import Path

import pytest

import stance
from stance.actor_eval import (
    accuracy_table,
    article_predictions,
    detail_table,
    file_predictions,
    seed_predictions,
    stance_rows,
)
from stance.actors import RULES, ActorAttributor, attribute_sentences
from stance.gazetteer import Gazetteer
from stance.labels import ACTORS
from tests.conftest import SEEDS, time_growth


def actors(*sentences: str) -> list[str]:
    return [a.actor for a in attribute_sentences(list(sentences))]


def test_seed_sentences_get_the_labelled_actor():
    table = accuracy_table(seed_predictions())
    assert table["sentences"] == 94
    assert table["accuracy"] >= 0.85
    for actor in ("ukraine", "russia", "nato", "none"):
        assert table["per_actor"][actor]["recall"] >= 0.75, (actor, table["per_actor"][actor])


def test_seed_quotes_take_their_speaker_including_the_unattributed_continuation():
    rows = seed_predictions()
    first = next(r for r in rows if "It is clear that Ukraine is not a member" in r["text"])
    continuation = next(r for r in rows if "For years we heard about the apparently" in r["text"])
    assert (first["predicted"], first["surface"]) == ("ukraine", "Zelenskyy")
    assert continuation["predicted"] == "ukraine" and continuation["rule"] == "quote-continuation"


def test_authored_actor_test_set_is_original_and_well_formed():
    rows = [json.loads(line) for line in (SEEDS / "actor_test.jsonl").read_text().splitlines()]
    assert len(rows) >= 80
    assert {r["actor"] for r in rows} == set(ACTORS)
    seeds = {json.loads(line)["text"] for line in (SEEDS / "labels.jsonl").read_text().splitlines()}
    authored = {json.loads(line)["text"] for path in (SEEDS / "authored").glob("*.jsonl")
                for line in path.read_text().splitlines() if line.strip()}
    assert not {r["text"] for r in rows} & (seeds | authored)


def test_actor_test_set_accuracy_stays_high():
    table = accuracy_table(file_predictions(SEEDS / "actor_test.jsonl"))
    assert table["accuracy"] >= 0.85


@pytest.mark.parametrize("sentence, actor, surface", [
    ("“We will never give up our NATO course,” Zelensky said.", "ukraine", "Zelensky"),
    ("“Kyiv must never join,” said Lavrov on Tuesday.", "russia", "Lavrov"),
    ("Moscow has said it does not want Kyiv to join the alliance.", "russia", "Moscow"),
    ("Ukraine's Foreign Ministry stated that membership was the only real guarantee.", "ukraine",
     "Ukraine's Foreign Ministry"),
    ("NATO Secretary General Mark Rutte said the door remained open.", "nato", "Mark Rutte"),
    ("According to Peskov, the question is closed.", "russia", "Peskov"),
    ("Ukraine may not join NATO – Zelenskyy", "ukraine", "Zelenskyy"),
    ("Hungarian officials said Budapest would veto any invitation.", "nato", "Hungarian officials"),
    ("Beijing called for restraint on all sides, the Chinese foreign ministry said.", "other", "Beijing"),
    ("Analysts said the shift in Kyiv was significant.", "other", "Analysts"),
    ("“Membership is off the table,” said Fiona Hill, a former White House adviser.", "other", None),
    ("Russian airstrikes hit Kharkiv overnight.", "none", None),
    ("The summit will take place on March 24.", "none", None),
    ("Ukraine's bid to join NATO has stalled since 2008.", "none", None),
])
def test_rules_name_the_holder(sentence, actor, surface):
    found = attribute_sentences([sentence])[0]
    assert found.actor == actor, found
    if surface:
        assert found.surface == surface


def test_media_that_only_report_hold_no_stance():
    assert actors("Reuters reported that talks would resume on Monday.") == ["none"]
    assert actors("According to the Daily Mail, both sides appear to be warming to a truce.") == ["none"]


def test_multi_sentence_quote_takes_the_speaker_named_at_its_end():
    found = attribute_sentences(["“We will never give up.", "Our future is in NATO,” Zelensky said."])
    assert [a.actor for a in found] == ["ukraine", "ukraine"]
    assert found[0].rule == "quote-continuation"


def test_pronouns_and_later_quotes_refer_to_the_previous_speaker():
    found = actors("Stoltenberg said allies stood united.", "He added, “The door remains open.”",
                   "“Russia does not get a veto.”")
    assert found == ["nato", "nato", "nato"]


def test_a_person_introduced_with_an_actor_cue_is_remembered_in_the_article():
    found = attribute_sentences(["Czech PM Petr Fiala arrived in Kyiv on Tuesday.",
                                 "“We stand with you,” Fiala tweeted."])
    assert (found[1].actor, found[1].surface) == ("nato", "Fiala")


def test_furniture_has_no_actor():
    found = attribute_sentences(["CLICK HERE TO GET THE APP", "Putin said no."], [True, False])
    assert [a.actor for a in found] == ["none", "russia"]
    assert found[0].rule == "furniture"


def test_the_gazetteer_is_an_editable_data_file(tmp_path):
    data = {"actors": {"other": {"people": ["Kowalski"]}, "ukraine": {"places": ["Ukraine"]}},
            "agent_nouns": ["officials"]}
    path = tmp_path / "gazetteer.json"
    path.write_text(json.dumps(data))
    found = attribute_sentences(["Kowalski said Ukraine should wait."], gazetteer=Gazetteer.load(path))
    assert found[0].actor == "other" and found[0].surface == "Kowalski"
    with pytest.raises(ValueError, match="unknown actor"):
        Gazetteer({"actors": {"martians": {"people": ["Zork"]}}})


@pytest.mark.parametrize("unit, tail", [
    ("Putin's demands Zelensky's remarks ", ""),  # the possessive rule, once per mention
    ("the thing, which said ", ""),  # a reporting verb whose subject is never found
    (" really", " r said x"),  # a run of adverbs before a verb, never an auxiliary tail
    ("Kyiv Minsk Moscow ", ""),  # places, each checked for being part of a longer name
    ("“x” the ", ""),  # quotes, each checked for an attribution after it
])
def test_doubling_the_input_grows_time_at_most_2_5x(unit, tail):
    # Two doublings (×4 input) allow 2.5² = 6.25× the time: linear rules take about 4×, a quadratic
    # rule 16×.
    small, large = ((unit * (size // len(unit) + 1))[:size] + tail for size in (40_000, 160_000))
    assert time_growth(lambda text: attribute_sentences([text]), small, large) <= 2.5 ** 2


def test_the_learned_layer_reads_the_article_where_the_rules_find_nobody():
    texts = ["The Verkhovna Rada voted on Thursday to amend the constitution.",
             "The amendment commits the country's leaders to seeking membership of NATO and the EU."]
    labels = ["neutral", "pro-membership"]
    rules = ActorAttributor(model=None).attribute(texts, None, labels)
    learned = ActorAttributor().attribute(texts, None, labels)
    assert rules[1].actor == "none"
    assert (learned[1].actor, learned[1].rule, learned[1].detail) == ("ukraine", "model", "UA")
    survey = ["A September survey by the Razumkov Centre found that 79 percent of Ukrainians "
              "would vote for joining NATO."]
    assert ActorAttributor().attribute(survey, None, ["pro-membership"])[0].actor == "ukraine"


def test_without_labels_the_rules_decide_alone():
    texts = ["The summit will take place on March 24."]
    assert ActorAttributor().attribute(texts)[0] == ActorAttributor(model=None).attribute(texts)[0]


def test_held_out_authored_articles_get_the_labelled_holder():
    rows = stance_rows(article_predictions({"article_test"}))
    table = accuracy_table(rows)
    rules = accuracy_table(stance_rows(article_predictions({"article_test"}, ActorAttributor(model=None))))
    assert table["sentences"] >= 300
    assert table["accuracy"] >= 0.90 and table["accuracy"] >= rules["accuracy"] + 0.1
    for actor in ("ukraine", "russia", "nato"):
        assert table["per_actor"][actor]["recall"] >= 0.85, (actor, table["per_actor"][actor])
    assert table["none_share"] < rules["none_share"]
    details = detail_table(rows)
    assert details["state_sentences"] >= 200 and details["accuracy"] >= 0.85
    assert details["other_state_accuracy"] >= 0.85  # the allies the coarse actor lumps together


@pytest.mark.parametrize("sentence, detail", [
    ("Hungarian Foreign Minister Peter Szijjarto said Budapest would veto any invitation.", "HU"),
    ("Diplomats say Germany and France remain unwilling to grant an action plan.", "DE"),
    ("“The door is open,” the alliance said in a statement.", "NATO"),
    ("Zelensky said Ukraine would not give up its goal.", "UA"),
    ("Peskov said the Kremlin saw no room for compromise.", "RU"),
    ("Analysts said the summit would bring no invitation.", None),
])
def test_actor_detail_names_the_state_or_organisation(sentence, detail):
    assert ActorAttributor().attribute([sentence], None, ["opposing"])[0].detail == detail


def test_a_name_that_moved_between_offices_is_read_by_the_date():
    text = ["Rutte said the path to membership was irreversible."]
    assert ActorAttributor().attribute(text, None, ["pro-membership"], "2023-07-11")[0].detail == "NL"
    assert ActorAttributor().attribute(text, None, ["pro-membership"], "2025-06-24")[0].detail == "NATO"
    tusk = ["Tusk said the European Union stood by Ukraine's choice."]
    assert ActorAttributor().attribute(tusk, None, None, "2016-05-01")[0].actor == "other"  # EU Council
    assert ActorAttributor().attribute(tusk, None, None, "2024-05-01")[0].actor == "nato"  # Poland


def test_the_office_list_covers_every_member_since_2008():
    data = json.loads((Path(stance.__file__).parent / "data" / "officeholders.json").read_text())
    members = {code for code, c in data["countries"].items() if c["nato_member_since"]}
    assert len(members) == 32
    for code in members | {"UA", "RU"}:
        offices = {p["office"] for p in data["people"] if p["country"] == code}
        assert {"foreign minister"} <= offices, code
    for person in data["people"]:
        assert person["from"] <= (person["to"] or "9999"), person["name"]


def test_the_rule_table_is_one_list_in_code_docstring_and_readme():
    import stance.actors as module

    readme = (Path(stance.__file__).parent.parent / "README.md").read_text()
    documented = re.findall(r"^\d+\. ``([a-z-]+)``", module.__doc__, re.MULTILINE)
    assert documented == [r for r in RULES if r not in ("none", "furniture")]
    for rule in RULES:
        assert f"``{rule}``" in module.__doc__ and f"`{rule}`" in readme, rule
    emitted = {r["rule"] for r in seed_predictions()} | {
        r["rule"] for r in stance_rows(article_predictions({"article_validation"}))}
    assert emitted <= set(RULES)


def test_the_learned_layer_leaves_analysts_to_the_rules():
    found = ActorAttributor().attribute(
        ["Analysts said the alliance was unlikely to invite Kyiv while the war continued."],
        None, ["conceding"])[0]
    assert found.actor == "other" and found.rule == "reporting-verb"
    former = ActorAttributor().attribute(
        ["Anders Fogh Rasmussen said allies should invite Ukraine at the summit."],
        None, ["pro-membership"], "2024-06-01")[0]
    assert former.detail == "NATO"  # out of office: known by the office held last
