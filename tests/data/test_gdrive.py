"""Google Drive downloads against a local HTTP server that answers like drive.usercontent.google.com."""

from __future__ import annotations

from pathlib import Path

import pytest

from gerne.data.gdrive import CELEBA_MANUAL_HINT, download_gdrive, gdrive_url
from gerne.errors import DataError
from tests.data import test_download
from tests.data.test_download import PAYLOAD, Server

server = test_download.server  # the local HTTP server fixture
FILE_ID = "0B7EVK8r0v71pZjFTYXZWM3FlRnM"
FIRST = f"/download?id={FILE_ID}&export=download&confirm=t"

CONFIRM_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head><body>
<p>Google Drive can't scan this file for viruses.</p>
<form id="download-form" action="{action}" method="get">
<input type="submit" id="uc-download-link" value="Download anyway"/>
<input type="hidden" name="id" value="{file_id}"><input type="hidden" name="export" value="download">
<input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="6f2a-41c9">
</form></body></html>"""

QUOTA_PAGE = """<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>
<p>Sorry, you can't view or download this file at this time.</p>
<p>Too many users have viewed or downloaded this file recently. Please try accessing the file again later.</p>
</body></html>"""


def test_gdrive_url_uses_usercontent_endpoint() -> None:
    assert gdrive_url("abc") == "https://drive.usercontent.google.com/download?id=abc&export=download&confirm=t"


def test_direct_file(server: Server, tmp_path: Path) -> None:
    server.files[FIRST] = PAYLOAD
    dest = download_gdrive(FILE_ID, tmp_path / "img_align_celeba.zip", base_url=server.base + "download")
    assert dest.read_bytes() == PAYLOAD


def test_confirm_form_then_file(server: Server, tmp_path: Path) -> None:
    server.files[FIRST] = CONFIRM_PAGE.format(action=server.base + "download", file_id=FILE_ID).encode()
    server.files[f"{FIRST}&uuid=6f2a-41c9"] = PAYLOAD
    dest = download_gdrive(FILE_ID, tmp_path / "img_align_celeba.zip", base_url=server.base + "download")
    assert dest.read_bytes() == PAYLOAD
    assert [path for path, _ in server.requests] == [FIRST, f"{FIRST}&uuid=6f2a-41c9"]


def test_confirm_link_old_style_page(server: Server, tmp_path: Path) -> None:
    page = f'<html><body><a id="uc-download-link" href="/uc?export=download&amp;confirm=Ab1&amp;id={FILE_ID}">go</a>'
    server.files[FIRST] = page.encode()
    server.files[f"/uc?export=download&confirm=Ab1&id={FILE_ID}"] = PAYLOAD
    dest = download_gdrive(FILE_ID, tmp_path / "f.zip", base_url=server.base + "download")
    assert dest.read_bytes() == PAYLOAD


def test_quota_page_explains_manual_download(server: Server, tmp_path: Path) -> None:
    server.files[FIRST] = QUOTA_PAGE.encode()
    dest = tmp_path / "img_align_celeba.zip"
    with pytest.raises(DataError) as info:
        download_gdrive(FILE_ID, dest, hint=CELEBA_MANUAL_HINT, base_url=server.base + "download")
    message = str(info.value)
    for needed in ("img_align_celeba.zip", FILE_ID, "Quota exceeded", "mirror", "jessicali9530/celeba-dataset",
                   "list_attr_celeba.csv", "list_eval_partition.csv", "img_align_celeba/"):
        assert needed in message
    assert list(tmp_path.iterdir()) == []


def test_confirm_page_that_loops_is_a_refusal(server: Server, tmp_path: Path) -> None:
    loop = CONFIRM_PAGE.format(action=server.base + "download", file_id=FILE_ID).encode()
    server.files[FIRST] = loop
    server.files[f"{FIRST}&uuid=6f2a-41c9"] = loop
    with pytest.raises(DataError, match="Virus scan warning"):
        download_gdrive(FILE_ID, tmp_path / "f.zip", base_url=server.base + "download")
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_a_refusal(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"refused to serve f\.zip.*HTTP 404.*mirror"):
        download_gdrive(FILE_ID, tmp_path / "f.zip", base_url=server.base + "download")
