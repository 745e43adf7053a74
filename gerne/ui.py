"""Links into the MLflow UI that open the classic runs table, not MLflow 3's GenAI view.

MLflow 3 (checked with 3.17 in headless Chromium) opens ``#/experiments/<id>`` in its GenAI mode: an empty traces
overview with a "Detect Issues in Your Traces" popup, although the runs are there. The UI's default workflow type is
GenAI (remembered per browser); the query ``?workflowType=machine_learning`` switches it to "Model training", where
``/runs`` lists the runs and the run page keeps the training sidebar.

The runs table shows only a few attribute columns until "Columns" adds more; no URL parameter names columns, but a
shared view does: MLflow's "Share" button stores the page's state as the experiment tag
``mlflow.sharedViewState.<key>`` (JSON: the search facets and the UI state, ``selectedColumns`` among them), and
``?viewStateShareKey=<key>`` applies it. :func:`experiment_links` writes such a view (the headline metrics, dataset,
row and seed as columns) into every experiment and links to it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

WORKFLOW_QUERY = "workflowType=machine_learning"
VIEW_KEY = "gerne-headline"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
# column ids as the UI writes them: <attributes|params|metrics|tags>.`<name>`
HEADLINE_VIEW = {"selectedColumns": ["metrics.`best_val/test_gba`", "metrics.`best_val/test_wga`", "tags.`dataset`",
                                     "tags.`setting`", "tags.`seed`"]}


def runs_view_url(base_url: str, experiment_id: str) -> str:
    """The runs table of an experiment in the "Model training" view, with the headline columns of :data:`VIEW_TAG`
    (which :func:`experiment_links` writes into the experiment)."""
    return (f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs?{WORKFLOW_QUERY}"
            f"&viewStateShareKey={VIEW_KEY}")


def run_url(base_url: str, experiment_id: str, run_id: str) -> str:
    """The page of one run (its metrics and parameters tables) in the "Model training" view."""
    return f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?{WORKFLOW_QUERY}"


def _local_store_missing(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` names a local SQLite file or directory store that does not exist yet."""
    if tracking_uri.startswith("sqlite:"):
        path = tracking_uri.removeprefix("sqlite:").removeprefix("///").split("?", 1)[0]  # sqlite:////abs → /abs
        return path not in ("", "//", ":memory:") and not Path(unquote(path)).exists()
    parsed = urlparse(tracking_uri)
    if parsed.scheme in ("", "file"):
        return not Path(unquote(parsed.path) if parsed.scheme else tracking_uri).exists()
    return False


def wait_until_up(base_url: str, alive: Callable[[], bool], timeout: float = 120.0) -> bool:
    """Poll ``<base_url>/health`` until the server answers 200 (True), ``alive()`` turns False or ``timeout`` s
    pass (False)."""
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url.rstrip('/')}/health", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def experiment_links(tracking_uri: str, base_url: str) -> list[tuple[str, str]]:
    """(name, runs-view URL) of every active experiment in the store but ``Default``; [] if the store is absent.

    The headline view (:data:`VIEW_TAG`) is written into each experiment the links open. A missing local store is
    not created (MLflow would create an empty one on first access).
    """
    if _local_store_missing(tracking_uri):
        return []
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    links: list[tuple[str, str]] = []
    token = None
    while True:
        page = client.search_experiments(max_results=1000, page_token=token, order_by=["name ASC"])
        for e in page:
            if e.name != "Default":
                if e.tags.get(VIEW_TAG) != json.dumps(HEADLINE_VIEW):
                    client.set_experiment_tag(e.experiment_id, VIEW_TAG, json.dumps(HEADLINE_VIEW))
                links.append((e.name, runs_view_url(base_url, e.experiment_id)))
        token = page.token
        if not token:
            return links
