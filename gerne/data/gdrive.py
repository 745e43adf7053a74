"""Google Drive downloads (CelebA's official release): virus-scan confirm pages and a clear error on refusal.

Files are requested from the ``drive.usercontent.google.com/download?id=<id>&export=download&confirm=t``
endpoint through :func:`gerne.data.download.download_url` (streamed, resumable, retried). Drive answers some
requests with an HTML page instead of the file: the "can't scan this file for viruses" page carries a form
whose hidden fields confirm the download (followed automatically); any other page (quota exceeded, sign-in,
access denied) is a refusal, reported with what to do instead.
"""

from __future__ import annotations

import os
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

from gerne.data.download import download_url
from gerne.errors import DataError

GDRIVE_URL = "https://drive.usercontent.google.com/download"
MAX_PAGES = 3  # HTML pages followed before giving up

CELEBA_MANUAL_HINT = (
    " For CelebA: download it manually, either from the official CelebA page"
    " (https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html: 'Align&Cropped Images' img_align_celeba.zip,"
    " and from 'Anno'/'Eval' list_attr_celeba.txt and list_eval_partition.txt) or from the Kaggle mirror"
    " jessicali9530/celeba-dataset (https://www.kaggle.com/datasets/jessicali9530/celeba-dataset), which ships"
    " list_attr_celeba.csv and list_eval_partition.csv instead of the .txt files (both formats are accepted)."
    " Put img_align_celeba/ (or img_align_celeba.zip), the attribute file and the partition file into one"
    " directory and name it as the dataset's mirror (the pipeline: `mirrors:` in local.yaml)."
)


def gdrive_url(file_id: str, base_url: str | None = None) -> str:
    """Direct-download URL of a Drive file id (``base_url`` defaults to :data:`GDRIVE_URL`)."""
    query = urllib.parse.urlencode({"id": file_id, "export": "download", "confirm": "t"})
    return f"{base_url or GDRIVE_URL}?{query}"


class _PageParser(HTMLParser):
    """Collects the page title, the download form (action + hidden fields) and links carrying ``confirm=``."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.forms: list[tuple[str, dict[str, str]]] = []
        self.confirm_links: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "form":
            self.forms.append((attr.get("action", ""), {}))
        elif tag == "input" and self.forms and attr.get("type", "").lower() == "hidden" and attr.get("name"):
            self.forms[-1][1][attr["name"]] = attr.get("value", "")
        elif tag == "a" and "confirm=" in attr.get("href", ""):
            self.confirm_links.append(attr["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _is_html(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(2048).lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _confirm_url(page: _PageParser, url: str) -> str | None:
    """The URL that confirms the download on a virus-scan warning page, if the page has one."""
    for action, fields in page.forms:
        if "id" in fields and "confirm" in fields:
            return urllib.parse.urljoin(url, action or url.split("?")[0]) + "?" + urllib.parse.urlencode(fields)
    return urllib.parse.urljoin(url, page.confirm_links[0]) if page.confirm_links else None


def _refused(label: str, file_id: str, reason: str, hint: str) -> DataError:
    return DataError(
        f"Google Drive refused to serve {label} (file id {file_id}): {reason}. Drive does this when the file's "
        "daily download quota is exceeded ('Too many users have viewed or downloaded this file recently') or when "
        "it asks for a sign-in; trying again later may work. Otherwise download the file by hand in a browser, "
        "place it in a directory and name that directory as the dataset's mirror (`mirrors:` in local.yaml; the "
        f"copy is verified like a download).{hint}"
    )


def download_gdrive(
    file_id: str,
    dest: str | os.PathLike[str],
    *,
    label: str = "",
    hint: str = "",
    timeout: float = 60,
    retries: int = 3,
    base_url: str | None = None,
) -> Path:
    """Download Drive file ``file_id`` to ``dest``, following the virus-scan confirm page; return ``dest``.

    Raises :class:`DataError` naming ``label`` (default: the file name) and explaining the manual-download fix
    (plus ``hint``) when Drive answers with a refusal page or an HTTP error, or the transfer keeps failing.
    """
    dest = Path(dest)
    label = label or dest.name
    url = gdrive_url(file_id, base_url)
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        seen.add(url)
        try:
            download_url(url, dest, timeout=timeout, retries=retries)
        except DataError as exc:
            raise _refused(label, file_id, str(exc), hint) from exc
        if not _is_html(dest):
            return dest
        parser = _PageParser()
        parser.feed(dest.read_text(encoding="utf-8", errors="replace"))
        dest.unlink()
        title = " ".join(parser.title.split()) or "untitled"
        next_url = _confirm_url(parser, url)
        if next_url is None or next_url in seen:
            raise _refused(label, file_id, f"it answered with an HTML page ({title!r}) instead of the file", hint)
        url = next_url
    raise _refused(label, file_id, f"it kept answering with HTML pages (last: {title!r})", hint)
