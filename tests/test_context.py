from stance.context import MAX_CONTEXT_CHARS, previous_sentences


def test_each_sentence_is_read_after_the_one_before_it():
    assert previous_sentences(["Headline", "First.", "Second."]) == ["", "Headline", "First."]


def test_page_furniture_is_never_context():
    texts = ["Zelensky spoke in Kyiv.", "Read also: gas prices", "He said Ukraine belongs in NATO."]
    assert previous_sentences(texts, [False, True, False])[2] == "Zelensky spoke in Kyiv."


def test_context_is_bounded():
    long = "x" * (MAX_CONTEXT_CHARS * 3)
    assert len(previous_sentences([long, "Next."])[1]) == MAX_CONTEXT_CHARS
