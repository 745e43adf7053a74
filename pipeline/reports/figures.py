"""Figures 2 and 3 of the paper, drawn from committed run summaries and pseudo-attribute metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from gerne.io import atomic_path

LOSSES = (("loss_b", "$L_b$"), ("loss_lb", "$L_{lb}$"), ("loss_ext", "$L_{ext}$"))
ACCURACIES = (("train_conflicting_acc", "train minority"), ("train_aligned_acc", "train majority"),
              ("val_conflicting_acc", "val minority"), ("val_aligned_acc", "val majority"), ("test_acc", "test"))


def curves(histories: list[list[dict[str, float]]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epochs, mean, std) of ``key`` over seeds; epochs past the shortest run (e.g. a diverged one) are cut."""
    n = min(len(h) for h in histories)
    values = np.array([[row.get(key, np.nan) for row in h[:n]] for h in histories], dtype=float)
    return np.arange(1, n + 1), np.nanmean(values, axis=0), np.nanstd(values, axis=0)


def _band(ax: Any, histories: list[list[dict[str, float]]], key: str, label: str) -> None:
    x, mean, std = curves(histories, key)
    if np.isnan(mean).all():
        return
    ax.plot(x, mean, label=label, lw=1.2)
    ax.fill_between(x, mean - std, mean + std, alpha=0.25)


def figure2(runs: dict[float, list[list[dict[str, float]]]], out_png: str | Path, refused: str = "") -> None:
    """Fig. 2: per β (rows) the losses (left) and minority/majority/test accuracies (right), mean ± std over seeds.

    ``runs`` maps β to the per-seed histories; ``refused`` is the pipeline's message for a β above Eq. 9's bound.
    """
    betas = sorted(runs)
    fig, axes = plt.subplots(len(betas), 2, figsize=(11, 2.6 * len(betas)), squeeze=False, sharex=True)
    for row, beta in enumerate(betas):
        for key, label in LOSSES:
            _band(axes[row, 0], runs[beta], key, label)
        for key, label in ACCURACIES:
            _band(axes[row, 1], runs[beta], key, label)
        axes[row, 0].set_ylabel(f"β = {beta:g}\nloss")
        axes[row, 1].set_ylabel("accuracy")
        axes[row, 1].set_ylim(0, 1.02)
        axes[row, 0].set_yscale("log")
    axes[0, 0].legend(fontsize=8)
    axes[0, 1].legend(fontsize=8, ncol=2)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    title = "Fig. 2 reproduction — C-MNIST 0.5 %, known attributes, c = 0.5 (mean ± std over seeds)"
    fig.suptitle(title + (f"\n{refused}" if refused else ""), fontsize=9)
    fig.tight_layout()
    _save(fig, out_png)


def figure3(quality: dict[str, Any], sweep: dict[float, dict[str, float]] | None, out_png: str | Path) -> None:
    """Fig. 3: average precision and recall of the pseudo-minority per t, and (when swept, see
    ``pipeline.reports.sweeps.best_beta_per_t``) the β chosen by validation GBA and the test GBA it reached."""
    ts = sorted(float(t) for t in quality["thresholds"])
    prec = [quality["thresholds"][repr(t)]["avg_precision"] for t in ts]
    rec = [quality["thresholds"][repr(t)]["avg_recall"] for t in ts]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    labels = [f"{t:g}" for t in ts]
    axes[0].plot(labels, prec, "o-", label="avg precision")
    axes[0].plot(labels, rec, "s-", label="avg recall")
    axes[0].set_ylim(0, 1.05)
    axes[0].legend(fontsize=8)
    axes[0].set_title("pseudo-minority quality")
    for ax, key, title in ((axes[1], "beta", "best β (by validation)"), (axes[2], "test_gba", "test GBA at best β")):
        if sweep:
            ax.plot(labels, [sweep.get(t, {}).get(key, np.nan) for t in ts], "o-", label="chosen by validation")
            if key == "test_gba":
                ax.plot(labels, [sweep.get(t, {}).get("oracle_test_gba", np.nan) for t in ts], "x--", color="grey",
                        label="best over β (oracle)")
                ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "β sweep not run yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title)
    for ax in axes:
        ax.set_xlabel("t")
    fig.suptitle("Fig. 3 reproduction — C-MNIST 0.5 %, unknown attributes", fontsize=9)
    fig.tight_layout()
    _save(fig, out_png)


def _save(fig: Any, out_png: str | Path) -> None:
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
