"""Report layouts: how a study of ``studies.tables`` is written (its ``report:`` key names one). Each entry says
what it writes, what it asks of the study's declaration (checked with the rest of params.yaml) and which function
writes it; the report stage looks the layout up here and knows none of them by name.

The writers are named as ``module:function`` and imported when the report stage runs: the params schema reads this
registry, and the writers read the schema's types."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.config import Params

PAPER_TABLE2 = ("waterbirds", "celeba", "civilcomments")  # the paper's Table 2 columns: dataset kinds


@dataclass(frozen=True)
class Layout:
    """One report layout.

    ``writer``: ``module:function`` called as ``(params, study, files, runs)`` with the study's output paths
    (:func:`pipeline.plan.plan`) and the run table (:mod:`pipeline.reports.runs`). ``kinds``: the dataset kinds
    it has a column for, one dataset each (None: any datasets). ``min_datasets``: how many it needs.
    ``by_minority_share``: a column per (benchmark, minority share), so each dataset must define one and no two may
    share a column. ``headline``: it writes the DVC headline metrics. ``unique``: at most one study of the project
    uses it."""

    description: str
    writer: str
    kinds: tuple[str, ...] | None = None
    min_datasets: int = 0
    by_minority_share: bool = False
    headline: bool = False
    unique: bool = False

    def write(self, p: Params, study: str, files: dict[str, Any], runs: pd.DataFrame) -> None:
        """Write ``study``'s report from the run table ``runs``."""
        module, _, function = self.writer.partition(":")
        getattr(import_module(module), function)(p, study, files, runs)


LAYOUTS: dict[str, Layout] = {
    "study": Layout("datasets × rows × checkpoints: GBA, WGA, accuracy, aligned and conflicting accuracy "
                    "(reports/tables/<study>.md)", "pipeline.reports.tables:own"),
    "table1": Layout("a column per dataset by its minority share beside the paper's Table 1, the reproduction "
                     "summary, the baselines and the headline metrics (reports/tables/table1_cmnist.md, "
                     "REPRODUCTION.md)", "pipeline.reports.table1_files:write", by_minority_share=True,
                     headline=True, unique=True),
    "table2": Layout("the paper's Table 2: worst-group accuracy on Waterbirds, CelebA and CivilComments beside the "
                     "paper's (reports/tables/<study>.md)", "pipeline.reports.tables:paper_table2",
                     kinds=PAPER_TABLE2),
    "attribution": Layout("each row on the first dataset and under every variant of it, with the share of the gap "
                          "to the copied rows each closes (reports/tables/<study>.md)",
                          "pipeline.reports.tables:attribution", min_datasets=1),
}
TABLE3 = Layout("Appendix G's Table 3: CelebA trained on its validation split (studies.table3)",
                "pipeline.reports.tables:paper_table3")
