import pytest

from pipeline.ingest.locators import LocatorKind, LocatorRefused, local_video_files, parse_locator
from pipeline.ingest.ytdlp import is_search_locator


def _parse(text, *, from_web=True, search_count=10, max_items=50):
    return parse_locator(
        text,
        from_web=from_web,
        search_count=search_count,
        max_items=max_items,
        allow_loopback=True,
        is_search=is_search_locator,
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ytsearch5:station clock", "ytsearch5:station clock"),
        ("ytsearch:station clock", "ytsearch10:station clock"),
        ("ytsearchall:station clock", "ytsearch50:station clock"),
        ("ytsearch500:station clock", "ytsearch50:station clock"),
        ("scsearch3:ticking", "scsearch3:ticking"),
        ("station clock at night", "ytsearch10:station clock at night"),
    ],
)
def test_searches_take_a_bounded_number_of_results(text, value):
    locator = _parse(text)
    assert locator.kind is LocatorKind.SEARCH
    assert locator.value == value
    assert locator.limit == int(value.split(":")[0].removeprefix("ytsearch").removeprefix("scsearch"))


def test_a_yt_dlp_pseudo_url_is_only_ever_searched_for():
    # ":ytfav" would read a logged-in user's favourites; here it is just words to search.
    assert _parse(":ytfav").value == "ytsearch10::ytfav"


def test_urls_are_kept_as_given():
    locator = _parse("http://127.0.0.1:8000/clip.mp4")
    assert (locator.kind, locator.value, locator.limit) == (LocatorKind.URL, "http://127.0.0.1:8000/clip.mp4", 50)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file:"),
        ("data:video/mp4;base64,AAAA", "not data:"),
        ("ftp://example.org/a.mp4", "not ftp:"),
        ("/etc/passwd", "local files and folders can only be ingested from the command line"),
        ("http://10.0.0.1/a.mp4", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/", "link-local"),
        ("www.example.org/clip.mp4", "add https://"),
        ("", "empty source"),
        ("bad\x00byte", "NUL"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "not gopher:"),
    ],
)
def test_it_refuses_what_the_web_may_not_ingest(text, message):
    with pytest.raises(LocatorRefused, match=message.replace("(", r"\(")):
        _parse(text)


def test_local_paths_are_allowed_from_the_command_line(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    locator = _parse(str(tmp_path), from_web=False)
    assert locator.kind is LocatorKind.LOCAL
    assert locator.value == str(tmp_path.resolve())
    assert _parse(f"file://{tmp_path}/a.mp4", from_web=False).kind is LocatorKind.LOCAL
    with pytest.raises(LocatorRefused, match="no such file or folder"):
        _parse(str(tmp_path / "missing"), from_web=False)


def test_a_folder_yields_its_video_files_in_name_order(tmp_path):
    for name in ("b.mp4", "a.MKV", "notes.txt", "sub/c.webm"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in local_video_files(tmp_path)] == ["a.MKV", "b.mp4", "c.webm"]
