
import pytest

from stance.segment import is_furniture, segment
from tests.conftest import read_article, time_growth


def _texts(stem):
    text = read_article(stem)
    return text, segment(text)


def test_offsets_point_into_the_article():
    for stem in ("000", "001", "002", "003", "004"):
        text, sentences = _texts(stem)
        assert sentences
        for s in sentences:
            assert text[s.start:s.end] == s.text
            assert s.text == s.text.strip()
        starts = [s.start for s in sentences]
        assert starts == sorted(starts)


def test_quote_stays_with_its_attribution():
    _, sentences = _texts("000")
    quote = [s.text for s in sentences if "we understand this" in s.text]
    assert len(quote) == 1
    assert quote[0].startswith("“It is clear that Ukraine is not a member of NATO")
    assert "President Zelenskyy said while addressing" in quote[0]


def test_closing_quote_is_not_a_sentence_of_its_own():
    _, sentences = _texts("001")
    assert all(any(ch.isalnum() for ch in s.text) for s in sentences)
    assert any(s.text.endswith("confrontation with Russia.”") for s in sentences)


def test_headlines_and_one_line_paragraphs_are_sentences():
    _, sentences = _texts("002")
    texts = [s.text for s in sentences]
    assert "Russia-Ukraine War: Ukraine may not join NATO – Zelenskyy" in texts
    _, sentences = _texts("001")
    assert "Ukraine Not Interested in Joining NATO?" in [s.text for s in sentences]


def test_page_furniture_is_marked():
    furniture = set()
    for stem in ("000", "002", "003"):
        _, sentences = _texts(stem)
        furniture |= {s.text for s in sentences if s.furniture}
    for line in ("CLICK HERE TO GET THE DALLAS EXPRESS APP", "Related Articles", "Leave a Reply",
                 "Show More", "Back to top button", "Read More:"):
        assert line in furniture
    # Links listed under "Read More:" are furniture too, article text is not.
    assert "New Jersey Dad Forced Son to Run on The Treadmill Causing Him to Fall, Die" in furniture
    assert not any("Zelensky" in t and "NATO" in t for t in furniture)


def test_masthead_line_is_furniture_only_when_named():
    text = "Global WindowNews\n\nUkraine may not join NATO, Zelenskyy says.\n"
    assert [s.furniture for s in segment(text, masthead="Global WindowNews")] == [True, False]
    assert [s.furniture for s in segment(text)] == [False, False]


def test_is_furniture_leaves_news_sentences_alone():
    assert is_furniture("Subscribe to our newsletter")
    assert not is_furniture("Subscribers to the treaty said Kyiv must wait.")
    assert not is_furniture("Related to the summit, ministers said nothing.")


def test_empty_text_has_no_sentences():
    assert segment("") == []
    assert segment("\n \n") == []


def _repeated(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


@pytest.mark.parametrize("unit", [
    "Mr. U.S. Sen. Dr. No. ",  # an abbreviation every few characters: pysbd rescans per abbreviation
    read_article("000").replace("\n", " "),  # an article as one paragraph
])
def test_doubling_the_input_grows_time_at_most_2_5x(unit):
    # Two doublings (×4 input) allow 2.5² = 6.25× the time: linear work takes about 4×, the old
    # n^1.6 segmentation 9×. Larger sizes make the timing steadier than a single doubling.
    assert time_growth(segment, _repeated(unit, 25_000), _repeated(unit, 100_000)) <= 2.5 ** 2


def test_a_long_paragraph_is_cut_between_sentences():
    text = "Kyiv asked to join the alliance. " * 200 + "Mr. U.S. Sen. Dr. No. " * 100
    sentences = segment(text)
    assert [s.text for s in sentences[:200]] == ["Kyiv asked to join the alliance."] * 200
    for s in sentences:
        assert text[s.start:s.end] == s.text and s.text
    assert sentences[-1].end == len(text.rstrip())


def test_read_also_teasers_of_any_length_are_furniture():
    leaked = ("Read also Kremlin says NATO summit declaration confirms its worst fears about the alliance "
              "moving east")
    assert is_furniture(leaked) and is_furniture("READ MORE: Zelensky says Ukraine will join NATO")
    assert is_furniture("See also: Allies split over invitation wording")
    assert not is_furniture("Readers also said the summit failed.")


@pytest.mark.parametrize("line", ["Home › World › Europe", "World > Europe > Ukraine",
                                  "Home | Archive | Contact", "Home / News", "Share on Facebook",
                                  "Facebook Twitter WhatsApp Email", "Share Tweet Copy link", "09:14",
                                  "12:30 GMT", "|", "* * *"])
def test_breadcrumbs_share_bars_and_timestamps_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", ["NATO > Russia in spending, analysts said.", "Zelensky: Ukraine | NATO",
                                  "Seeing more troops, Kyiv said it would wait.",
                                  "Sharing intelligence with Kyiv is vital, Stoltenberg said."])
def test_sentences_with_those_marks_are_not_furniture(line):
    assert not is_furniture(line)


def test_a_run_of_short_menu_lines_is_furniture_and_a_headline_is_not():
    text = "Home\nNews\n\nPolitics\nEconomy\nParliament votes on NATO course\nKyiv voted today.\n"
    sentences = segment(text)
    assert [s.text for s in sentences if s.furniture] == ["Home", "News", "Politics", "Economy"]
    assert [s.furniture for s in segment("Kyiv bid\n\nUkraine wants in.\n")] == [False, False]
