import pytest

from stance.pages import article_from_html, page_date
from stance.records import ArticleError
from stance.segment import segment
from tests.loopback import WEB, page


def _article(name):
    return article_from_html(page(name), name.removesuffix(".html"), path=str(WEB / name))


def _content(article):
    return [s.text for s in segment(article.text, masthead=article.source) if not s.furniture]


def test_main_text_title_date_site_and_canonical_url():
    article = _article("nav_ads.html")
    assert article.title == "Zelensky presses allies for NATO timeline"
    assert article.source == "Daily Planet"
    assert article.published == "2023-07-11" and article.date_source == "page metadata"
    assert article.url == "https://planet.example/world/zelensky-nato-timeline"
    assert article.text_source == "page"
    text = article.text
    assert "belongs in NATO" in text and "stop short of a formal invitation" in text
    for noise in ("Sign in", "Sport", "Advertisement", "VPN", "Most read", "Storm hits coast",
                  "Copyright"):
        assert noise not in text


def test_the_leaked_read_also_teaser_is_furniture_not_stance():
    content = _content(_article("nav_ads.html"))
    assert not any("Kremlin says NATO summit declaration" in s for s in content)
    assert any("belongs in NATO" in s for s in content)


def test_comments_are_left_out_and_json_ld_dates_the_article():
    article = _article("comments.html")
    assert article.published == "2022-03-16" and article.source == "Eastern Herald"
    assert "never be allowed to join" in article.text
    for noise in ("outrageous", "NATO expansion caused", "Leave a Reply", "ivan_1987"):
        assert noise not in article.text


def test_time_element_dates_a_page_whose_footer_has_a_copyright_range():
    article = _article("dateline.html")
    assert article.published == "2023-06-29"
    assert "formal invitation at the summit" in article.text


def test_table_layout_keeps_its_paragraphs_and_its_menu_is_furniture():
    article = _article("table_layout.html")
    assert article.published == "2019-02-07"
    content = _content(article)
    assert "President Petro Poroshenko said the vote made the country's strategic course irreversible." \
        in content
    assert "Opposition deputies said the change would deepen divisions with Moscow and voted against it." \
        in content
    assert not {"Home", "Archive", "Contact", "News", "Politics", "Economy", "|"} & set(content)
    assert not any("Copyright" in s for s in content)


def test_live_blog_entries_are_sentences_and_timestamps_furniture():
    article = _article("liveblog.html")
    assert article.published == "2023-07-12" and article.source == "Wire Live"
    content = _content(article)
    assert "Zelensky said the absence of a timeline for membership was absurd and showed indecision " \
           "among allies." in content
    assert not any(s in content for s in ("09:14", "10:02", "11:45", "12:30"))
    entries = ("Leaders have started", "Zelensky said", "The Kremlin spokesman", "German Chancellor")
    assert [s.split(" ")[0] for s in content] == ["NATO", *(e.split(" ")[0] for e in entries)]


def test_a_copyright_year_is_not_a_publication_date():
    article = _article("copyright_only.html")
    assert article.published is None and article.date_source is None
    assert "Bucharest summit" in article.text


def test_a_date_printed_in_the_text_is_found_when_metadata_has_none():
    html = ("<html><body><article><h1>Talks resume</h1><p>Published on 29 June 2023</p>"
            "<p>Negotiators met again in Istanbul to discuss neutrality and security guarantees for "
            "Ukraine, officials said.</p></article><footer>© 2005-2025 Example</footer></body></html>")
    assert page_date(html) == ("2023-06-29", "page text")


def test_the_same_page_read_twice_in_one_process_gives_the_same_article():
    first, second = _article("comments.html"), _article("comments.html")
    assert first.text and first.text == second.text


def test_a_page_without_main_text_is_an_error_with_a_reason():
    with pytest.raises(ArticleError, match="no article text found"):
        article_from_html(b"<html><head><title>x</title></head><body><script>var a;</script>"
                          b"</body></html>", "empty")
