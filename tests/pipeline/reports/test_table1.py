"""Table 1 with every benchmark: each benchmark's metric, cells of benchmarks not run marked with the paper's value,
and two benchmarks at the same ratio never merged; the headline (the declared rows) keeps C-MNIST at the top level."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.reports import table1
from pipeline.reports.table import headline, paper_targets


def _runs() -> pd.DataFrame:
    rows = []
    for benchmark, gba, conflicting in (("cmnist", 0.80, 0.70), ("ccifar10", 0.40, 0.30), ("bffhq", 0.9, 0.65)):
        for seed in (0, 1):
            rows.append({"benchmark": benchmark, "ratio": 0.5, "setting": "resample", "seed": seed,
                         "selection": "best_val", "test_gba": gba + seed / 100, "test_wga": 0.1,
                         "test_conflicting_acc": conflicting + seed / 100, "diverged": False})
    return pd.DataFrame(rows)


def test_benchmarks_in_the_papers_order() -> None:
    assert table1.benchmarks() == ["cmnist", "ccifar10", "bffhq"]


def test_each_benchmark_is_summarised_on_its_own_metric() -> None:
    table = table1.summary(_runs()).set_index("benchmark")
    assert table.loc["cmnist", "mean"] == pytest.approx(80.5) and table.loc["cmnist", "paper_mean"] == 77.68
    assert table.loc["ccifar10", "mean"] == pytest.approx(40.5) and table.loc["ccifar10", "paper_mean"] == 45.10
    assert table.loc["bffhq", "metric"] == "test_conflicting_acc" and table.loc["bffhq", "mean"] == pytest.approx(65.5)
    assert table.loc["bffhq", "diff"] == pytest.approx(65.5 - 69.80)


def test_markdown_marks_what_did_not_run() -> None:
    runs = _runs()
    settings = {"resample": "known", "erm_vanilla": "none"}
    md = table1.to_markdown(table1.summary(runs[runs["benchmark"] == "cmnist"]), settings, 2)
    header = next(line for line in md.splitlines() if line.startswith("| setting"))
    assert header.count("|") == 2 + 9 + 1 and "C-CIFAR-10 0.5 %" in header and "bFFHQ 0.5 %" in header
    row = next(line for line in md.splitlines() if line.startswith("| resample"))
    assert "80.50 ± 0.71 (paper 77.68 ± 0.89, Δ +2.82)" in row
    assert "not run (paper 45.10 ± 0.60)" in row and "not run (paper 69.80 ± 1.33)" in row
    assert "not run (paper 35.19 ± 3.49)" in md  # the paper's ERM (DFA's Vanilla) at C-MNIST 0.5 %
    assert md.count("## Selection:") == 4  # best_val, last, oracle and the paper's protocol (test)


def test_headline_is_the_declared_rows_gba_cmnist_on_top_and_the_others_nested() -> None:
    summary = table1.summary(_runs())
    out = headline(summary, {"resampling": "resample", "vanilla": "erm_vanilla"})
    assert out["resampling"] == {"r0.5": pytest.approx(80.5)}
    assert out["ccifar10"] == {"resampling": {"r0.5": pytest.approx(40.5)}}
    assert out["bffhq"]["resampling"]["r0.5"] == pytest.approx(65.5)  # bFFHQ's own metric, as Table 1 reports it
    assert set(out) == {"resampling", "ccifar10", "bffhq"}  # a row without runs has no entry
    assert headline(summary, {}) == {}  # no headline declared: an empty metrics file


def test_the_papers_erm_row_sits_beside_erm_vanilla_in_every_benchmark() -> None:
    for benchmark in table1.benchmarks():  # DFA's Vanilla: the paper's ERM row; class-balanced `erm` has none
        rows = paper_targets(benchmark)["rows"]
        assert rows["erm_vanilla"]["paper_row"].startswith("ERM (DFA's Vanilla") and rows["erm_vanilla"]["values"]
        assert "values" not in rows["erm"] and rows["erm"]["paper_row"].startswith("– (class-balanced ERM")
    runs = _runs()
    md = table1.to_markdown(table1.summary(runs[runs["benchmark"] == "cmnist"]), {"erm_vanilla": "none", "erm": "none"},
                            2)
    vanilla = next(line for line in md.splitlines() if line.startswith("| erm_vanilla"))
    erm = next(line for line in md.splitlines() if line.startswith("| erm |"))
    assert "not run (paper 23.08 ± 1.25)" in vanilla and "not run (paper 56.70 ± 2.70)" in vanilla
    assert "(paper 23.08" not in erm and "(paper 56.70" not in erm and "(paper 35.19" not in erm


def test_collapsed_cells_are_marked_and_explained() -> None:
    runs = _runs().assign(collapsed=lambda t: t["benchmark"] == "ccifar10")
    md = table1.to_markdown(table1.summary(runs), {"resample": "known"}, 2)
    assert "40.50 ± 0.71 (paper 45.10 ± 0.60, Δ -4.60) † collapsed in 2/2 seeds" in md
    assert "80.50 ± 0.71 (paper 77.68 ± 0.89, Δ +2.82) |" in md  # C-MNIST's seeds did not collapse
    assert "† Collapsed: the run ended at chance" in md
    assert "TARGETS.md" not in md and "`pipeline/reports/targets.yaml`" in md
    assert "† Collapsed" not in table1.to_markdown(table1.summary(_runs()), {"resample": "known"}, 2)
