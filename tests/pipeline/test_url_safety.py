import socket

import pytest

from pipeline.ingest.url_safety import UnsafeURL, check_url, guarded_connections


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file:"),
        ("data:text/html,<script>alert(1)</script>", "not data:"),
        ("ftp://example.org/video.mp4", "not ftp:"),
        ("javascript:alert(1)", "not javascript:"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "not gopher:"),
        ("//example.org/video.mp4", "not no scheme"),
        ("http:///nohost", "URL has no host"),
        ("http://user:secret@93.184.216.34/", "user name or password"),
        ("http://127.0.0.1/admin", "127.0.0.1 is a loopback address"),
        ("http://127.1/", "127.0.0.1 is a loopback address"),
        ("http://localhost:6379/", "is a loopback address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.5/", "10.0.0.5 is a private address"),
        ("http://172.16.3.4/", "172.16.3.4 is a private address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://[fd00::1]/", "fd00::1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://0.0.0.0/", "is a"),
        ("http://[2002:a9fe:a9fe::]/", "169.254.169.254 is a link-local address"),  # 6to4
        ("http://[2001:0:4136:e378:8000:63bf:f5fe:fffe]/", "10.1.0.1 is a private address"),  # Teredo
        ("http://[fec0::1]/", "fec0::1 is a site-local address"),
        ("http://224.0.0.1/", "not a public address"),
        ("http://example.org:99999/", "not a valid URL"),
        ("http://" + "a" * 5000 + ".org/", "longer than 4096"),
    ],
)
def test_it_refuses_urls_that_are_not_public_http(url, message):
    with pytest.raises(UnsafeURL, match=message.replace("(", r"\(").replace("[", r"\[")):
        check_url(url)


def test_it_accepts_a_public_address():
    check_url("https://93.184.216.34/video.mp4")


def test_loopback_can_be_allowed_for_development_but_private_addresses_cannot():
    check_url("http://127.0.0.1:8000/clip.mp4", allow_loopback=True)
    with pytest.raises(UnsafeURL, match="private"):
        check_url("http://10.0.0.5/", allow_loopback=True)


def test_the_guard_refuses_connections_to_inner_addresses_only_inside_its_block():
    with guarded_connections(allow_loopback=False) as guard, pytest.raises(UnsafeURL, match="loopback"):
        socket.getaddrinfo("127.0.0.1", 80)
    assert guard.refused == "refused 127.0.0.1: 127.0.0.1 is a loopback address"
    # Outside the block, and in other threads, nothing changes.
    assert socket.getaddrinfo("127.0.0.1", 80)


def test_the_guard_lets_loopback_through_when_allowed():
    with guarded_connections(allow_loopback=True) as guard:
        assert socket.getaddrinfo("127.0.0.1", 80)
        with pytest.raises(UnsafeURL):
            socket.getaddrinfo("10.1.2.3", 80)
    assert "10.1.2.3 is a private address" in guard.refused
