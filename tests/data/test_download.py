"""Download helpers against a local HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gerne.data import download
from gerne.data.download import download_url, fetch_verified, install_verified, md5_of, verify_file
from gerne.errors import DataError

PAYLOAD = bytes(range(256)) * 1200  # 300 KiB, several read chunks are not needed to exercise resume
UNREACHABLE = "http://127.0.0.1:9/"


class Server:
    """Serves ``files`` (path -> bytes); optionally honours Range and truncates the first N responses."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.support_range = True
        self.truncate_next = 0
        self.requests: list[tuple[str, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("Range")))
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start, status = 0, 200
                range_header = self.headers.get("Range")
                if owner.support_range and range_header and range_header.startswith("bytes="):
                    start = int(range_header[len("bytes="):].split("-")[0])
                    if start >= len(body):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    status = 206
                chunk = body[start:]
                self.send_response(status)
                self.send_header("Content-Length", str(len(chunk)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                if owner.truncate_next:
                    owner.truncate_next -= 1
                    chunk = chunk[: len(chunk) // 3]
                    self.close_connection = True
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.0)
    srv = Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


def test_md5_of_plain_and_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(PAYLOAD))
    assert md5_of(path) == hashlib.md5(path.read_bytes()).hexdigest()
    assert md5_of(path, decompress_gzip=True) == hashlib.md5(PAYLOAD).hexdigest()
    path.write_bytes(b"not gzip")
    with pytest.raises(DataError, match="corrupt"):
        md5_of(path, decompress_gzip=True)


def test_download_url_streams_to_dest(server: Server, tmp_path: Path) -> None:
    server.files["/f.bin"] = PAYLOAD
    dest = download_url(server.base + "f.bin", tmp_path / "sub" / "f.bin")
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "f.bin.part").exists()


def test_download_url_resumes_partial_part(server: Server, tmp_path: Path) -> None:
    server.files["/f.bin"] = PAYLOAD
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:1000])
    download_url(server.base + "f.bin", dest)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("/f.bin", "bytes=1000-")]


def test_download_url_restarts_when_range_ignored(server: Server, tmp_path: Path) -> None:
    server.files["/f.bin"] = PAYLOAD
    server.support_range = False
    (tmp_path / "f.bin.part").write_bytes(b"garbage prefix")
    download_url(server.base + "f.bin", tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_download_url_retry_resumes_truncated_transfer(server: Server, tmp_path: Path) -> None:
    server.files["/f.bin"] = PAYLOAD
    server.truncate_next = 1
    download_url(server.base + "f.bin", tmp_path / "f.bin", retries=2)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert [r for _, r in server.requests] == [None, f"bytes={len(PAYLOAD) // 3}-"]


def test_download_url_404_fails_at_once_naming_url(server: Server, tmp_path: Path) -> None:
    url = server.base + "missing.bin"
    with pytest.raises(DataError, match=r"missing\.bin.*HTTP 404"):
        download_url(url, tmp_path / "m.bin", retries=3)
    assert len(server.requests) == 1
    assert not (tmp_path / "m.bin").exists()


def test_download_url_unreachable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.0)
    with pytest.raises(DataError, match=r"127\.0\.0\.1:9/x.*2 attempt"):
        download_url(UNREACHABLE + "x", tmp_path / "x", timeout=5, retries=2)
    assert not (tmp_path / "x").exists()


def test_fetch_verified_tries_urls_in_turn(server: Server, tmp_path: Path) -> None:
    server.files["/good/a.gz"] = gzip.compress(PAYLOAD)
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    urls = [UNREACHABLE, server.base + "nothing/", server.base + "good"]
    path = fetch_verified("a.gz", tmp_path, urls, None, md5, True, retries=1)
    assert path == tmp_path / "a.gz" and md5_of(path, decompress_gzip=True) == md5
    # A verified file is reused without any request.
    n_requests = len(server.requests)
    assert fetch_verified("a.gz", tmp_path, urls, None, md5, True) == path
    assert len(server.requests) == n_requests


def test_fetch_verified_rejects_corrupt_download(server: Server, tmp_path: Path) -> None:
    server.files["/a.bin"] = PAYLOAD
    with pytest.raises(DataError, match="corrupt") as info:
        fetch_verified("a.bin", tmp_path / "d", [server.base], None, "0" * 32, False, retries=1, hint=" HINT")
    assert "HINT" in str(info.value)
    assert list((tmp_path / "d").iterdir()) == []


def test_fetch_verified_replaces_corrupt_existing_file(tmp_path: Path) -> None:
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    dest.mkdir()
    (mirror / "a.bin").write_bytes(PAYLOAD)
    (dest / "a.bin").write_bytes(b"stale")
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    assert fetch_verified("a.bin", dest, [], mirror, md5, False).read_bytes() == PAYLOAD
    assert sorted(p.name for p in dest.iterdir()) == ["a.bin"]


def test_verify_file_size_md5_and_recorded_sha256(tmp_path: Path) -> None:
    path = tmp_path / "a.gz"
    path.write_bytes(gzip.compress(PAYLOAD))
    size, md5 = path.stat().st_size, hashlib.md5(path.read_bytes()).hexdigest()
    assert verify_file(path, size=size, md5=md5.upper()) == "md5:" + md5
    assert verify_file(path, md5=hashlib.md5(PAYLOAD).hexdigest(), decompress_gzip=True).startswith("md5:")
    assert verify_file(path, size=size) == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DataError, match=rf"a\.gz is corrupt or truncated: it has {size} bytes, expected {size + 1}"):
        verify_file(path, size=size + 1, md5=md5)
    with pytest.raises(DataError, match=r"src is corrupt: MD5 .* expected 0+\. .*HINT"):
        verify_file(path, md5="0" * 32, label="src", hint=" HINT")


def test_install_verified_renames_or_deletes(tmp_path: Path) -> None:
    tmp, target = tmp_path / ".a.unverified", tmp_path / "a"
    tmp.write_bytes(PAYLOAD)
    with pytest.raises(DataError, match=r"a from http://x/a is corrupt or truncated"):
        install_verified(tmp, target, size=1, origin="http://x/a")
    assert list(tmp_path.iterdir()) == []
    tmp.write_bytes(PAYLOAD)
    assert install_verified(tmp, target, size=len(PAYLOAD)).startswith("sha256:")
    assert list(tmp_path.iterdir()) == [target]


# ------------------------------------------------------------- unreadable gzip files: the reason, not a traceback

def _gzip_variants() -> dict[str, tuple[bytes, str]]:
    good = gzip.compress(PAYLOAD)
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    return {
        "truncated": (good[: len(good) // 2], "truncated"),
        "plain": (PAYLOAD, "not a gzip file"),
        "html": (b"<html><body>Service unavailable</body></html>", "looks like an HTML page"),
        "flipped": (bytes(flipped), "gzip"),
        "trailing": (good + b"junk", "extra bytes follow the compressed data"),
    }


@pytest.mark.parametrize("how", ["truncated", "plain", "html", "flipped", "trailing"])
def test_md5_of_unreadable_gzip_says_why(tmp_path: Path, how: str) -> None:
    content, why = _gzip_variants()[how]
    path = tmp_path / "x.gz"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        md5_of(path, decompress_gzip=True)
    msg = str(info.value)
    assert str(path) in msg and why in msg and "corrupt" in msg and "delete it and fetch it again" in msg


@pytest.mark.parametrize("how", ["truncated", "plain", "flipped"])
def test_verify_file_names_the_reason(tmp_path: Path, how: str) -> None:
    content, why = _gzip_variants()[how]
    path = tmp_path / "x.gz"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        verify_file(path, md5=hashlib.md5(PAYLOAD).hexdigest(), decompress_gzip=True, label="x.gz from M",
                    hint=" HINT")
    msg = str(info.value)
    assert msg.startswith("x.gz from M is corrupt: ") and why in msg and "unreadable" not in msg
    assert "Replace it with an intact copy" in msg and msg.endswith("HINT")


def test_verify_file_empty(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"x\.gz is corrupt: it is empty \(0 bytes\)"):
        verify_file(path, md5=hashlib.md5(PAYLOAD).hexdigest(), decompress_gzip=True)


@pytest.mark.parametrize("how", ["truncated", "plain", "flipped"])
def test_fetch_verified_replaces_unreadable_existing_gzip(tmp_path: Path, how: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    dest.mkdir()
    (mirror / "a.gz").write_bytes(gzip.compress(PAYLOAD))
    (dest / "a.gz").write_bytes(_gzip_variants()[how][0])
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    with caplog.at_level("WARNING", logger="gerne.data.download"):
        path = fetch_verified("a.gz", dest, [], mirror, md5, True)
    assert md5_of(path, decompress_gzip=True) == md5
    assert sorted(p.name for p in dest.iterdir()) == ["a.gz"]
    assert "fetching it again" in caplog.text and str(dest / "a.gz") in caplog.text


def test_download_progress_only_on_a_terminal(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    server.files["/f.bin"] = PAYLOAD
    download_url(server.base + "f.bin", tmp_path / "quiet.bin")
    assert "f.bin.part" not in capsys.readouterr().err  # not a terminal: no bar
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    download_url(server.base + "f.bin", tmp_path / "shown.bin")
    assert "shown.bin.part" in terminal.getvalue() and "B" in terminal.getvalue()
