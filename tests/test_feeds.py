
from stance.feeds import html_fragment_text, looks_like_feed
from tests import loopback
from tests.loopback import WEB, linked_fixture

_read = loopback.read_split


def test_entries_are_read_from_their_linked_pages_else_their_summaries(site, tmp_path):
    articles, skipped = _read(linked_fixture("feed.rss", site, tmp_path))
    page = articles["planet-1001"]
    assert page.text_source == "page" and "stop short of a formal invitation" in page.text
    assert page.published == "2023-07-11" and page.date_source == "feed entry"
    assert page.url == "https://planet.example/world/zelensky-nato-timeline"
    assert page.source == "Daily Planet" and not page.warnings

    summary = articles["planet-1002"]  # its link answers 404
    assert summary.text_source == "feed summary"
    assert summary.text == ("Russian Foreign Minister Sergei Lavrov said Ukraine would never be allowed "
                            "to join the alliance.\nHe said neutrality was the only acceptable outcome.")
    assert summary.warnings == ["linked page not read (HTTP 404 Not Found): scored the feed summary"]
    assert summary.published == "2022-03-16" and summary.source == "Daily Planet World"

    content = articles["planet-1003"]  # no link: its full content, not the teaser
    assert content.text_source == "feed content" and "direct conflict with Russia" in content.text
    assert "no link" in content.warnings[0]
    assert skipped == {"planet-1004": "linked page not read (the entry has no link) and the entry "
                                      "has no summary"}


def test_without_fetching_every_entry_keeps_its_summary_flagged(site, tmp_path):
    articles, _ = _read(linked_fixture("feed.rss", site, tmp_path), fetch=False)
    assert articles["planet-1001"].text == "Zelensky urged allies to set a timeline."
    assert "fetching is off" in articles["planet-1001"].warnings[0]
    assert not site.requests


def test_atom_feeds_and_feed_detection():
    articles, skipped = _read(WEB / "feed.atom", fetch=False)
    assert not skipped
    assert articles["urn:wire:2001"].published == "2023-07-12"
    assert articles["urn:wire:2001"].title == "Scholz: Ukraine will join after the war"
    assert looks_like_feed((WEB / "feed.rss").read_bytes())
    assert not looks_like_feed((WEB / "nav_ads.html").read_bytes())


def test_xml_that_is_not_a_feed_and_a_broken_feed_are_skipped_with_reasons(tmp_path):
    (tmp_path / "sitemap.xml").write_text('<?xml version="1.0"?><urlset><url/></urlset>')
    (tmp_path / "broken.rss").write_text('<?xml version="1.0"?><rss><channel><title>x</ti')
    _, skipped = _read(tmp_path, fetch=False)
    reasons = {k.split("/")[-1]: v for k, v in skipped.items()}
    assert reasons["sitemap.xml"].startswith("not an RSS or Atom feed")
    assert reasons["broken.rss"].startswith("a feed without entries")


def test_summary_html_becomes_one_line_per_block():
    assert html_fragment_text("<p>One.</p><p>Two <b>bold</b>.</p>") == "One.\nTwo bold."
    assert html_fragment_text("plain text") == "plain text"
