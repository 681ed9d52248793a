from service.prometheus_metrics import REGISTRY, UNMATCHED, count_sentences, reason_of, route_of


def test_known_routes_keep_their_template_and_anything_else_is_unmatched():
    assert route_of("/classify") == "/classify"
    assert route_of("/static_content/swagger-ui.css") == "/static_content/{path}"
    assert route_of("/articles") == "/articles" and route_of("/timeline") == "/timeline"
    assert route_of("/articles/12") == route_of("/articles/" + "9" * 500) == "/articles/{article_id}"
    for path in ("/classify/", "/wp-admin", "/" + "x" * 500, "/model/../etc", "/articles/1/x"):
        assert route_of(path) == UNMATCHED


def test_reasons_are_status_phrases():
    assert reason_of(413) == "request_entity_too_large"
    assert reason_of(401) == "unauthorized"
    assert reason_of(504) == "gateway_timeout"
    assert reason_of(799) == "other"


def test_sentences_are_counted_per_label():
    def value(label):
        return REGISTRY.get_sample_value("stance_sentences_classified_total",
                                         {"label": label, "endpoint": "test"}) or 0

    before = {label: value(label) for label in ("opposing", "neutral", "conceding")}
    count_sentences(["opposing", "neutral", "opposing"], "test")
    assert value("opposing") == before["opposing"] + 2
    assert value("neutral") == before["neutral"] + 1
    assert value("conceding") == before["conceding"]
