"""Links into the MLflow UI that open the classic runs table, not MLflow 3's GenAI view.

MLflow 3 (checked with 3.17 in headless Chromium) opens ``#/experiments/<id>`` in its GenAI mode: an empty traces
overview with a "Detect Issues in Your Traces" popup, although the runs are there. The UI's default workflow type is
GenAI (remembered per browser); the query ``?workflowType=machine_learning`` switches it to "Model training", where
``/runs`` lists the runs and the run page keeps the training sidebar.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

WORKFLOW_QUERY = "workflowType=machine_learning"


def runs_view_url(base_url: str, experiment_id: str) -> str:
    """The runs table of an experiment (run names, metrics columns) in the "Model training" view."""
    return f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs?{WORKFLOW_QUERY}"


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


def experiment_links(tracking_uri: str, base_url: str) -> list[tuple[str, str]]:
    """(name, runs-view URL) of every active experiment in the store but ``Default``; [] if the store is absent.

    A missing local store is not created (MLflow would create an empty one on first access).
    """
    if _local_store_missing(tracking_uri):
        return []
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    links: list[tuple[str, str]] = []
    token = None
    while True:
        page = client.search_experiments(max_results=1000, page_token=token, order_by=["name ASC"])
        links += [(e.name, runs_view_url(base_url, e.experiment_id)) for e in page if e.name != "Default"]
        token = page.token
        if not token:
            return links
