"""Figures 2 and 3 of the paper, drawn from committed run summaries and pseudo-attribute metrics."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import SymmetricalLogLocator

from gerne.io import atomic_path

LOSSES = (("loss_b", "$L_b$"), ("loss_lb", "$L_{lb}$"), ("loss_ext", "$L_{ext}$"))
ACCURACIES = (("train_conflicting_acc", "train minority"), ("train_aligned_acc", "train majority"),
              ("val_conflicting_acc", "val minority"), ("val_aligned_acc", "val majority"), ("test_acc", "test"))


def curves(histories: list[list[dict[str, float]]], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epochs, mean, std) of ``key`` over seeds; epochs past the shortest run (e.g. a diverged one) are cut."""
    n = min(len(h) for h in histories)
    values = np.array([[row.get(key, np.nan) for row in h[:n]] for h in histories], dtype=float)
    return np.arange(1, n + 1), np.nanmean(values, axis=0), np.nanstd(values, axis=0)


COLOURS = {key: f"C{i}" for pairs in (LOSSES, ACCURACIES) for i, (key, _) in enumerate(pairs)}  # per panel


def _band(ax: Any, histories: list[list[dict[str, float]]], key: str, label: str) -> None:
    x, mean, std = curves(histories, key)
    if np.isnan(mean).all():
        return
    ax.plot(x, mean, label=label, lw=1.2, color=COLOURS[key])
    ax.fill_between(x, mean - std, mean + std, alpha=0.25, color=COLOURS[key])


def divergence(history: list[dict[str, float]], diverged: bool = False) -> tuple[int, str] | None:
    """(epoch, why) where a run diverged: its last epoch when the trainer stopped it (``diverged``: the objective
    became non-finite), else the first epoch where a loss is non-finite or the objective L_ext (the epoch's mean)
    leaves ±its epoch-1 value, the mean from the initial weights on: up, or down where p_ext's negative weight
    lets it fall without bound (every run inside Eq. 9 stays below a third of it after epoch 1); None otherwise."""
    if diverged and history:
        return int(history[-1]["epoch"]), "objective not finite, training stopped"
    first = _value(history[0], "loss_ext") if history else float("nan")
    for row in history:
        for key, label in LOSSES:
            if np.isfinite(_value(history[0], key)) and not np.isfinite(_value(row, key)):  # NaN at epoch 1:
                return int(row["epoch"]), f"{label} not finite"  # not computed for this β (L_lb at β = −1)
        now = abs(_value(row, "loss_ext"))
        if row is not history[0] and now > abs(first):
            return int(row["epoch"]), f"|$L_{{ext}}$| {now:.3g} above its epoch-1 {abs(first):.3g}"
    return None


def _value(row: dict[str, float], key: str) -> float:
    """A metric of one epoch as a float (NaN where absent; JSON writes a non-finite value as null or NaN)."""
    value = row.get(key)
    return float("nan") if value is None else float(value)


def _seeds(ax: Any, histories: list[list[dict[str, float]]], pairs: tuple[tuple[str, str], ...]) -> None:
    """Every seed of a run above Eq. 9's bound as its own dashed line (a diverged seed stops where it did)."""
    for s, history in enumerate(histories):
        x = [row["epoch"] for row in history]
        for key, label in pairs:
            y = np.array([row.get(key, np.nan) for row in history], dtype=float)
            if not np.isnan(y).all():
                ax.plot(x, y, ls="--", lw=1.0, color=COLOURS[key], alpha=0.9, label=label if s == 0 else None)


def _mark(axes: Any, histories: list[list[dict[str, float]]], diverged: list[bool]) -> None:
    """A dash-dotted line on both panels, and a label, where each diverged seed diverged."""
    for s, (history, stopped) in enumerate(zip(histories, diverged, strict=True)):
        found = divergence(history, stopped)
        if found is None:
            continue
        for ax in axes:
            ax.axvline(found[0], color="k", ls="-.", lw=1.0)
        axes[0].annotate(f" seed {s} diverged (epoch {found[0]})", (found[0], 0.97 - 0.1 * s),
                         xycoords=("data", "axes fraction"), fontsize=7, ha="left", va="top")


def figure2(runs: dict[float, list[list[dict[str, float]]]], out_png: str | Path, note: str = "",
            beyond: dict[float, tuple[list[list[dict[str, float]]], list[bool]]] | None = None,
            bounds: tuple[float, float] | None = None) -> None:
    """Fig. 2: per β (rows) the losses (left) and minority/majority/test accuracies (right), mean ± std over seeds.

    ``runs`` maps β to the per-seed histories; ``beyond`` the β above Eq. 9's bound (trained with the figure-only
    override) to their per-seed histories and ``diverged`` flags, drawn dashed per seed, with where each diverged;
    ``bounds`` are Eq. 9's on the training groups; ``note`` is the caption, generated from the data.
    """
    beyond = beyond or {}
    betas = [*sorted(runs), *sorted(beyond)]
    note = "\n".join(textwrap.fill(line, 180, subsequent_indent="    ") for line in note.splitlines())
    fig, axes = plt.subplots(len(betas), 2, figsize=(11, 2.6 * len(betas) + 0.4 + 0.16 * (note.count("\n") + 1)),
                             squeeze=False, sharex=True)
    for row, beta in enumerate(betas):
        if row < len(runs):
            for key, label in LOSSES:
                _band(axes[row, 0], runs[beta], key, label)
            for key, label in ACCURACIES:
                _band(axes[row, 1], runs[beta], key, label)
            name = f"β = {beta:g}"
        else:
            histories, stopped = beyond[beta]
            _seeds(axes[row, 0], histories, LOSSES)
            _seeds(axes[row, 1], histories, ACCURACIES)
            _mark(axes[row], histories, stopped)
            where = "inside Eq. 9" if bounds is None or bounds[0] <= beta <= bounds[1] else \
                f"above Eq. 9 bound {bounds[1]:.4f}" if beta > bounds[1] else f"below Eq. 9 bound {bounds[0]:.4f}"
            name = f"β = {beta:g} ({where}, override)"
            axes[row, 0].set_title(f"{name}: every seed dashed", fontsize=8, color="darkred")
            axes[row, 0].legend(fontsize=7)
        axes[row, 0].set_ylabel(f"{name.split(' (')[0]}\nloss")
        axes[row, 1].set_ylabel("accuracy")
        axes[row, 1].set_ylim(0, 1.02)
        low = 1.0 if row < len(runs) else min(
            (v for h in beyond[beta][0] for r in h for k, _ in LOSSES if np.isfinite(v := _value(r, k))), default=1.0)
        if low > 0:
            axes[row, 0].set_yscale("log")
        else:  # L_ext below zero: only outside Eq. 9, where p_ext weighs some group negatively; linear in ±1
            axes[row, 0].set_yscale("symlog", linthresh=1.0)
            axes[row, 0].yaxis.set_major_locator(SymmetricalLogLocator(base=10, linthresh=1.0, subs=[1.0]))
            axes[row, 0].yaxis.get_major_locator().set_params(numticks=6)
            axes[row, 0].set_ylim(bottom=min(-1.0, 2.0 * low))
    axes[0, 0].legend(fontsize=8)
    axes[0, 1].legend(fontsize=8, ncol=2)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    title = "Fig. 2 reproduction — C-MNIST 0.5 %, known attributes, c = 0.5 (mean ± std over seeds" + \
        ("; the rows beyond Eq. 9: every seed, dashed)" if beyond else ")")
    if bounds is not None:
        title += f"\nEq. 9 bounds on the training groups: β ∈ [{bounds[0]:.4f}, {bounds[1]:.4f}]"
    fig.suptitle(title, fontsize=9)
    if note:
        fig.text(0.01, 0.004, note, fontsize=7.5, va="bottom", ha="left")
    note_inches = (note.count("\n") + 1) * 7.5 * 1.5 / 72 + 0.1 if note else 0.0
    fig.tight_layout(rect=(0, note_inches / fig.get_figheight(), 1, 1))
    _save(fig, out_png)


def figure3(quality: dict[str, Any], picks: dict[str, Any] | None, out_png: str | Path) -> None:
    """Fig. 3: average precision and recall of the pseudo-minority per t and, once the t × β sweep has finished,
    the β each protocol picks per t and the test GBA it reports, side by side (``picks``: protocol → the frame of
    ``pipeline.reports.claims.best_beta``: t, beta, test, seeds; best_val = by validation GBA, test = the paper's
    "best average accuracy on test set")."""
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
    styles = {"best_val": ("o-", "by validation GBA"), "test": ("x--", "by test GBA (the paper's)")}
    for ax, key, title in ((axes[1], "beta", "best β per t"), (axes[2], "test", "test GBA at that β")):
        for protocol, frame in (picks or {}).items():
            by_t = dict(zip(frame["t"], frame[key], strict=True))
            seeds = sorted(set(int(n) for n in frame["seeds"]))
            ax.plot(labels, [by_t.get(t, np.nan) for t in ts], styles[protocol][0],
                    label=f"{styles[protocol][1]}, {'/'.join(map(str, seeds))} seed(s)")
        if picks:
            ax.legend(fontsize=7)
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
