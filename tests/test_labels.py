from stance.labels import dominant_of


def test_dominant_is_the_most_frequent_stance_with_its_share_and_mean_confidence():
    totals = {"neutral": (9, 8.0), "opposing": (3, 2.4), "conceding": (1, 0.9)}
    assert dominant_of(totals) == ("opposing", 0.75, 0.8)


def test_a_tie_goes_to_the_larger_summed_confidence_and_neutral_never_counts():
    assert dominant_of({"pro-membership": (2, 1.2), "conceding": (2, 1.8)})[0] == "conceding"
    assert dominant_of({"neutral": (5, 5.0)}) is None
    assert dominant_of({}) is None
