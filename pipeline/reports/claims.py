"""REPRODUCTION.md's first section: each qualitative claim of the paper on C-MNIST, tested under two protocols.

``best_val`` is ours (checkpoint and config chosen on validation data); ``test`` is the paper's (config and
checkpoint chosen on the test metric, the rule of the code its copied rows come from and of its Fig. 3). A claim "A
beats B" holds at a ratio when A's mean over seeds exceeds B's by more than the seed noise of the difference
(√(s_A² + s_B²)); within that noise it is a tie. The verdict is read off both protocols: reproduced (holds under
ours), reproduced only under test selection, partly (some ratios), not reproduced, or not testable here. Every
number comes from the Table 1 CSV, the run summaries and the pseudo-attribute quality; nothing is typed by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gerne import layout

PROTOCOLS = ("best_val", "test")
REPRODUCED, TEST_ONLY, PARTLY, NOT, UNTESTED = ("reproduced", "reproduced only under test selection", "partly",
                                                "not reproduced", "not testable here")


@dataclass
class Evidence:
    """What the claims are tested on: the summarised Table 1 (selection, setting, ratio, mean, std, n_seeds), the
    paper's values, the Fig. 2 runs' folder, the pseudo-attribute quality, the Fig. 3 sweep and the SW runs."""

    table: pd.DataFrame
    targets: dict[str, Any]
    ratios: list[float]
    fig_runs: Path | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    fig3_sweep: Path | None = None
    sw_runs: dict[float, Path] = field(default_factory=dict)


@dataclass
class Claim:
    """One tested claim: where the paper makes it, its words, the numbers per protocol and the verdict."""

    source: str
    text: str
    numbers: dict[str, str]
    verdict: str


def _cell(ev: Evidence, setting: str, ratio: float, selection: str) -> tuple[float, float, int] | None:
    t = ev.table
    hit = t[(t["setting"] == setting) & (t["ratio"] == ratio) & (t["selection"] == selection)]
    if hit.empty or int(hit.iloc[0]["n_seeds"]) == 0:
        return None
    r = hit.iloc[0]
    return float(r["mean"]), (0.0 if pd.isna(r["std"]) else float(r["std"])), int(r["n_seeds"])


def _copied(ev: Evidence, name: str, ratio: float) -> tuple[float, float, int] | None:
    rows = {**ev.targets.get("rows", {}), **ev.targets.get("copied", {})}
    value = (rows.get(name, {}).get("values") or {}).get(ratio)
    return None if value is None else (float(value[0]), 0.0 if math.isnan(float(value[1])) else float(value[1]), 3)


def _beats(a: tuple[float, float, int] | None, b: tuple[float, float, int] | None) -> tuple[bool | None, str]:
    if a is None or b is None:
        return None, "not run"
    delta, noise = a[0] - b[0], math.hypot(a[1], b[1])
    mark = "" if delta > noise else " (tie: within seed noise)" if abs(delta) <= noise else " (**behind**)"
    one = [" [1 seed]" if x[2] == 1 else "" for x in (a, b)]
    return delta > noise, f"{a[0]:.2f}{one[0]} vs {b[0]:.2f}{one[1]}, Δ {delta:+.2f} ± {noise:.2f}{mark}"


def _verdict(holds: dict[str, list[bool | None]]) -> str:
    val, test = ([h for h in holds.get(p, []) if h is not None] for p in PROTOCOLS)
    if not val and not test:
        return UNTESTED
    if val and all(val):
        return REPRODUCED
    if test and all(test):
        return TEST_ONLY
    if any(val) or any(test):
        n = max(sum(val), sum(test))
        return f"{PARTLY} ({n} of {max(len(val), len(test))})"
    return NOT


def beats(ev: Evidence, source: str, text: str, a: str, b: list[str], ratios: list[float],
          copied: bool = False) -> Claim:
    """"Row ``a`` beats every row of ``b``" at each of ``ratios`` (``copied``: b are the paper's copied rows)."""
    numbers, holds = {}, {}
    for p in PROTOCOLS:
        parts, holds[p] = [], []
        for r in ratios:
            others = [_copied(ev, x, r) if copied else _cell(ev, x, r, p) for x in b]
            best = max((o for o in others if o is not None), default=None, key=lambda o: o[0])
            ok, why = _beats(_cell(ev, a, r, p), best)
            holds[p].append(ok)
            parts.append(f"{r:g} %: {why}")
        numbers[p] = "; ".join(parts)
    return Claim(source, text, numbers, _verdict(holds))


def _summaries(folder: Path | None, row: str) -> list[dict[str, Any]]:
    if folder is None or not (folder / row).is_dir():
        return []
    return [json.loads(f.read_text()) for f in layout.summaries(folder / row)]


def _mean_of(runs: list[dict[str, Any]], fn: Callable[[dict[str, Any]], float]) -> float:
    return float(np.mean([fn(r) for r in runs])) if runs else math.nan


def _jitter(run: dict[str, Any]) -> float:
    """Mean absolute change of test GBA from one epoch to the next, in points (Fig. 2's "variance in training")."""
    values = [h["test_gba"] for h in run["history"] if "test_gba" in h]
    return float(np.mean(np.abs(np.diff(values)))) * 100.0 if len(values) > 1 else math.nan


def figure2(ev: Evidence, rows: dict[float, str], beyond: dict[float, str]) -> list[Claim]:
    """Fig. 2's claims from its runs (``rows``/``beyond``: β → row name) under both protocols' checkpoints."""
    runs = {b: _summaries(ev.fig_runs, r) for b, r in {**rows, **beyond}.items()}
    test = {p: {b: _mean_of(rs, lambda s, p=p: s["selections"]["oracle" if p == "test" else "best_val"]["metrics"]
                            ["test_gba"] * 100.0) for b, rs in runs.items()} for p in PROTOCOLS}
    out = []
    if -1.0 in runs and 1.0 in runs:
        ok = {p: [test[p][-1.0] < test[p][1.0]] if runs[-1.0] and runs[1.0] else [None] for p in PROTOCOLS}
        out.append(Claim("Fig. 2", "β = −1 (the biased batch only) learns a biased model; β = 1 generalises far "
                         "better", {p: f"test GBA β = −1: {test[p][-1.0]:.2f}, β = 1: {test[p][1.0]:.2f}"
                                    for p in PROTOCOLS}, _verdict(ok)))
    if 0.0 in runs and 1.0 in runs:
        ok = {p: [test[p][1.0] > test[p][0.0]] if runs[0.0] and runs[1.0] else [None] for p in PROTOCOLS}
        out.append(Claim("Fig. 2", "β = 1 generalises better than β = 0 (resampling-like batches at c = 0.5)",
                         {p: f"test GBA β = 0: {test[p][0.0]:.2f}, β = 1: {test[p][1.0]:.2f}" for p in PROTOCOLS},
                         _verdict(ok)))
    top = max((b for b in rows if b > 1.0), default=None)
    if top is not None and 1.0 in runs:
        jit = {b: _mean_of(runs[b], _jitter) for b in (1.0, top)}
        ok = [jit[top] > jit[1.0]] if runs[top] and runs[1.0] else [None]
        text = f"mean |Δ test GBA| per epoch: β = 1: {jit[1.0]:.2f}, β = {top:g}: {jit[top]:.2f} points"
        out.append(Claim("Fig. 2", f"a larger β (here {top:g}) trains with more variance", {p: text for p in
                                                                                              PROTOCOLS},
                         _verdict({"best_val": ok})))
    from pipeline.reports.figures import divergence  # Fig. 2's rule: non-finite, or |L_ext| above its epoch 1

    for b in sorted(beyond):
        rs = runs[b]
        at = [divergence(s["history"], bool(s.get("diverged"))) for s in rs]
        diverged = [x is not None for x in at]
        last = _mean_of(rs, lambda s: s["selections"]["last"]["metrics"].get("test_gba", math.nan) * 100.0)
        epochs = ", ".join(str(x[0]) for x in at if x is not None)
        text = (f"{sum(diverged)} of {len(rs)} seeds diverged" + (f" (epochs {epochs})" if epochs else "")
                + f"; last test GBA {last:.2f}") if rs else "not run"
        out.append(Claim("Fig. 2", f"β = {b:g}, above Eq. 9's upper bound, diverges",
                         {p: text for p in PROTOCOLS}, _verdict({"best_val": [all(diverged)] if rs else [None]})))
    return out


def sweep_points(sweep: Path | None) -> pd.DataFrame:
    """Every trained point of a finished t × β sweep with each seed found in its folder: t, β, seed, val GBA at
    the best-val checkpoint, test GBA there and at the oracle checkpoint (in %)."""
    if sweep is None or not layout.selected(sweep).is_file():
        return pd.DataFrame(columns=["t", "beta", "seed", "val_gba", "test_at_val", "test_oracle"])
    records = []
    for c in json.loads(layout.selected(sweep).read_text())["candidates"]:
        for f in layout.summaries(sweep / c["name"]):
            sel = json.loads(f.read_text())["selections"]
            records.append({"t": float(c["point"]["t"]), "beta": float(c["point"]["beta"]),
                            "seed": int(f.stem.removeprefix("seed")),
                            "val_gba": sel["best_val"]["metrics"]["val_gba"] * 100.0,
                            "test_at_val": sel["best_val"]["metrics"]["test_gba"] * 100.0,
                            "test_oracle": sel["oracle"]["metrics"]["test_gba"] * 100.0})
    return pd.DataFrame(records)


def best_beta(points: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """Per t, the β a protocol picks (mean over the seeds each point has): by val GBA, or by test GBA at the
    oracle checkpoint (the paper's "best average accuracy on test set"), with the test GBA it reports and its seeds."""
    means = points.groupby(["t", "beta"]).agg(val=("val_gba", "mean"), at_val=("test_at_val", "mean"),
                                              oracle=("test_oracle", "mean"), seeds=("seed", "count")).reset_index()
    key, value = ("val", "at_val") if protocol == "best_val" else ("oracle", "oracle")
    best = means.loc[means.groupby("t")[key].idxmax()]
    return best.assign(test=best[value])[["t", "beta", "test", "seeds"]].reset_index(drop=True)


def figure3(ev: Evidence) -> list[Claim]:
    """Fig. 3's claims: the pseudo-minority's precision and recall per t, the accuracy and best β per t."""
    q = {float(t): v for t, v in ev.quality.get("thresholds", {}).items()}
    ts = sorted(q)
    out = []
    if not ts:
        return out

    def quality_claim(text: str, ok: bool, t_values: list[float]) -> Claim:
        nums = "; ".join(f"t = {t:g}: precision {q[t]['avg_precision']:.2f}, recall {q[t]['avg_recall']:.2f}"
                         for t in t_values)
        return Claim("Fig. 3", text, dict.fromkeys(PROTOCOLS, nums), REPRODUCED if ok else NOT)

    out.append(quality_claim("at the smallest t the pseudo-minority is pure (precision ≈ 1) but holds under 20 % "
                             "of the minority", q[ts[0]]["avg_precision"] >= 0.95 and q[ts[0]]["avg_recall"] < 0.2,
                             ts[:1]))
    out.append(quality_claim("precision stays close to 1 at the next two t", all(q[t]["avg_precision"] >= 0.9
                                                                                for t in ts[1:3]), ts[1:3]))
    out.append(quality_claim("at the largest t minority samples are under 40 % of the pseudo-minority",
                             q[ts[-1]]["avg_precision"] < 0.4, ts[-1:]))
    points = sweep_points(ev.fig3_sweep)
    if points.empty:
        return out
    picks = {p: best_beta(points, p) for p in PROTOCOLS}
    first = {p: picks[p].iloc[0] for p in PROTOCOLS}
    out.append(Claim("Fig. 3", "GERNE reaches about 70 % at the smallest t",
                     {p: f"t = {first[p]['t']:g}: {first[p]['test']:.2f} (β = {first[p]['beta']:g}, "
                         f"{int(first[p]['seeds'])} seed(s))" for p in PROTOCOLS},
                     _verdict({p: [abs(first[p]["test"] - 70.0) <= 5.0] for p in PROTOCOLS})))
    pattern = {}
    for p in PROTOCOLS:
        b = dict(zip(picks[p]["t"], picks[p]["beta"], strict=True))
        ordered = [b[t] for t in sorted(b)]
        pattern[p] = [len(ordered) >= 4 and max(ordered[1:3]) < ordered[0] and ordered[-1] > min(ordered[1:3])]
    out.append(Claim("Fig. 3", "the best β drops at the 2nd and 3rd t (purer, larger pseudo-minority) and rises "
                     "again at the largest t", {p: ", ".join(f"t = {t:g}: β {b:g}" for t, b in
                                                             zip(picks[p]["t"], picks[p]["beta"], strict=True))
                                                for p in PROTOCOLS}, _verdict(pattern)))
    return out


def appendix_c(ev: Evidence, sw: str, gerne: str) -> list[Claim]:
    """Appendix C: GERNE's loss has more variance than SW's (same expectation), and that helps it generalise."""
    from pipeline.reports.baselines import loss_variance

    ratios, per = [], []
    for r, folder in ev.sw_runs.items():
        found = [json.loads(f.read_text()) for f in layout.summaries(folder / sw)]
        if found:
            ratios.append(r)
            per.append(float(np.mean([loss_variance(f, "loss_ext") / loss_variance(f, "loss_sw") for f in found])))
    text = "; ".join(f"{r:g} %: Var L_ext / Var L_sw = {v:.2f}" for r, v in zip(ratios, per, strict=True))
    out = [Claim("App. C", "GERNE's extrapolated loss has a larger variance than SW's loss of the same expectation",
                 dict.fromkeys(PROTOCOLS, text or "not run"),
                 _verdict({"best_val": [v > 1.0 for v in per] or [None]}))]
    out.append(beats(ev, "App. C", "that variance helps: GERNE generalises better than SW", gerne, [sw], ev.ratios))
    return out


def within(ev: Evidence, paper_rows: dict[str, str], tolerance: float) -> dict[str, tuple[int, int]]:
    """Per protocol, (paper cells within ``tolerance`` points, paper cells trained), each paper cell counted once
    (``paper_rows``: the paper's row → the one row of ours scored against it)."""
    out = {}
    for p in PROTOCOLS:
        hits = total = 0
        for ours in paper_rows.values():
            for r in ev.ratios:
                mine, paper = _cell(ev, ours, r, p), _copied(ev, ours, r)
                if mine is not None and paper is not None:
                    total += 1
                    hits += abs(mine[0] - paper[0]) <= tolerance
        out[p] = (hits, total)
    return out


def render(claims: list[Claim]) -> list[str]:
    """The claims table (Markdown lines) and a count of verdicts."""
    lines = ["| # | where | the paper's claim | ours: best_val (validation selection) | the paper's protocol: test "
             "selection | verdict |", "|---|---|---|---|---|---|"]
    for i, c in enumerate(claims, 1):
        verdict = c.verdict if c.verdict == REPRODUCED else f"**{c.verdict}**"
        lines.append(f"| {i} | {c.source} | {c.text} | {c.numbers['best_val']} | {c.numbers['test']} | {verdict} |")
    counts = pd.Series([c.verdict.split(" (")[0] for c in claims]).value_counts()
    return [*lines, "", "Verdicts: " + ", ".join(f"{v}: {n}" for v, n in counts.items()) + "."]


# Table 1's rows each claim is about (rows a study does not train make their claims "not testable here")
KNOWN, UNKNOWN, RESAMPLE, GROUP_DRO = "gerne_tuned_known", "gerne_tuned_unknown", "resample", "groupdro"
UNKNOWN_BASELINES = ("erm_vanilla", "lff", "jtt")  # baselines without attributes trained here
COPIED_UNKNOWN = ("erm_vanilla", "lff", "jtt", "DFA", "LC")  # the paper's copied unknown-attribute rows
ELSEWHERE = (("Sec. 5.1", "GERNE beats Group DRO by about 5 points on C-CIFAR-10 at 5 %, and resampling at every "
              "C-CIFAR-10 ratio"), ("Sec. 5.1", "GERNE beats resampling by over 7 points on bFFHQ"),
             ("Tab. 2 / App. G", "GERNE's worst-group accuracy on Waterbirds, CelebA and CivilComments"))


def paper_claims(ev: Evidence, rows: set[str], fig2: dict[float, str], beyond: dict[float, str],
                 sw: str | None) -> list[Claim]:
    """Every claim of Sec. 5.1, Fig. 2, Fig. 3 and Appendices B–C, tested on what was trained (``rows``: Table 1's
    rows; ``fig2`` / ``beyond``: β → Fig. 2's rows; ``sw``: Appendix C's SW row)."""
    ratios, out = ev.ratios, []

    def claim(source: str, text: str, a: str, b: list[str], at: list[float], copied: bool = False) -> None:
        needed = [a] if copied else [a, *b]
        if all(r in rows for r in needed):
            out.append(beats(ev, source, text, a, b, at, copied))
        else:
            out.append(Claim(source, text, dict.fromkeys(PROTOCOLS, f"rows {needed} not in the study"), UNTESTED))

    claim("Sec. 5.1", "GERNE (tuned, attributes known) beats Group DRO by a significant margin (the paper: up to "
          "16 points at 1 %) — against the copied Group DRO row", KNOWN, [GROUP_DRO], ratios, copied=True)
    claim("Sec. 5.1", "… and against Group DRO trained here (same data, seeds, GERNE's recipe)", KNOWN, [GROUP_DRO],
          ratios)
    claim("Sec. 5.1, App. B", "GERNE (tuned) beats resampling (GERNE c = 1, β = 0) at every ratio", KNOWN,
          [RESAMPLE], ratios)
    below5 = [r for r in ratios if r < 5.0]
    claim("Sec. 5.1", "GERNE (tuned, attributes unknown) beats every unknown-attribute baseline below 5 % — "
          "against the copied rows (ERM, LfF, JTT, DFA, LC)", UNKNOWN, list(COPIED_UNKNOWN), below5, copied=True)
    claim("Sec. 5.1", "… and against ERM, LfF and JTT trained here", UNKNOWN, list(UNKNOWN_BASELINES), below5)
    out += figure2(ev, fig2, beyond)
    out += figure3(ev)
    if sw is not None and "gerne_known" in rows:
        out += appendix_c(ev, sw, "gerne_known")
    out += [Claim(source, text, dict.fromkeys(PROTOCOLS, "no runs: the data is not reachable from this machine "
                                               "and needs a GPU"), UNTESTED) for source, text in ELSEWHERE]
    return out
