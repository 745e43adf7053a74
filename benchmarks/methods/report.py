"""The methods benchmark as a Markdown section of ``reports/benchmarks.md``."""

from __future__ import annotations

from typing import Any

from benchmarks.methods import column_seconds
from pipeline.config import Params


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _stacked(x: dict[str, Any]) -> str:
    """The stacked columns of an SGD row: per-run step, speed-up per run [range], run price (— if not stacked)."""
    if "stacked_step_s" not in x:
        return "— | — | —"
    lo, hi = x["stack_speedup_range"]
    return (f"{_ms(x['stacked_step_s'] / x['stack'])} | {x['stack_speedup']:.2f}× [{lo:.2f}–{hi:.2f}] | "
            f"{x['stacked_run_s']:.0f}")


def _eval_floor(x: dict[str, Any]) -> str:
    """Evaluation over the floor of its products (— in a measurement from before it was recorded)."""
    return f"{x['eval_s'] / x['eval_floor_s']:.2f}×" if "eval_floor_s" in x else "—"


def to_markdown(r: dict[str, Any], p: Params) -> str:
    """The measurement as a report section: a line per SGD row, then the fits of the rows without SGD steps, then
    the price of the study's column in ``p``, each run alone and with every stackable row's runs stacked."""
    sgd = [x for x in r["rows"] if "step_s" in x]
    fits = [x for x in r["rows"] if "fit_s" in x]
    stack = r.get("stack", 1)
    alone_s, runs = column_seconds(p, r["study"], {x["row"]: x["run_s"] for x in r["rows"]})
    stacked_s, _ = column_seconds(p, r["study"], {x["row"]: x.get("stacked_run_s", x["run_s"]) for x in r["rows"]})
    lines = [f"## Every method at its floor — {r['dataset']}, the `{r['study']}` study's rows", "",
             f"Measured by `make bench-methods` (DVC stage `benchmark_methods`) on: {r['machine']}; device "
             f"`{r['device']}`"
             + ("; glibc's malloc keeps large blocks for reuse, as in every training stage." if r.get("malloc_tuned")
                else "."), "",
             "Each row is built by the pipeline's own code for config 0, seed 0 (its method, grouping, batch, "
             "optimiser, model). **Step**: the training loop's step (draw, forward, loss, `backward()`, update). "
             "**Floor**: the matrix products that same step performs (recorded from it, backward included: "
             "two batches for GERNE, two models for LfF), replayed alone. **Reference**: the textbook eager step "
             "of the recipe (forward, cross-entropy, `backward()`, the recipe's `torch.optim` optimiser) on one "
             "preloaded float batch of as many rows as the step's first layer sees. Each is the best of 3 blocks of "
             f"{r['steps']} steps, the three timed in turn in each of {r['rounds']} rounds; ratios within a round, "
             "median [range]. **Evaluation**: one epoch's scoring of one run (val, test and train where the row "
             "scores it: predictions and every metric, one host read), best of 3, beside the floor of its own "
             "matrix products (recorded from it, replayed alone; each replayed product reads operands of its own, so "
             "an evaluation that reuses one cache-sized block of inputs, as the MLP's does, can come in under it). "
             "**Run**: its steps at the step time plus its "
             "evaluations at the measured evaluation time; **recorded**: the training seconds the committed "
             "runs logged (evaluation excluded). "
             f"**Stacked**: {stack} runs of the row (seeds 0–{stack - 1}) as one stacked model (`studies.stack_size: "
             f"{stack}`), timed in turn with the others in blocks of {max(3, r['steps'] // stack)} steps; per run: "
             f"its step / {stack}, the speed-up over the run alone (median [range] within a round), its run price "
             "with its evaluations stacked too.", "",
             "| row | method, optimiser | rows / step | step, ms | floor, ms | step / floor | reference, ms | "
             "step / reference | reference / floor | evaluation, s | evaluation / floor | steps × evaluations | "
             f"run, s | recorded training, s | runs / hour | stacked ×{stack}: ms per run-step | speed-up per run | "
             "run stacked, s |",
             "|" + "---|" * 18]
    for x in sgd:
        lo, hi = x["ratio_floor_range"]
        lines.append(
            f"| `{x['row']}` | {x['method']}, {x['optimizer']} | {x['rows_per_step']:,} | {_ms(x['step_s'])} | "
            f"{_ms(x['floor_s'])} | {x['ratio_floor']:.2f}× [{lo:.2f}–{hi:.2f}] | {_ms(x['reference_s'])} | "
            f"{x['ratio_reference']:.2f}× | {x['reference_floor']:.2f}× | {x['eval_s']:.3f} | {_eval_floor(x)} | "
            f"{x['steps_per_run']:,} × {x['evaluations_per_run']} | {x['run_s']:.0f} | "
            f"{x['recorded_run_s']:.0f} | {x['runs_per_hour']:.1f} | {_stacked(x)} |")
    if fits:
        lines += ["", "Rows without SGD steps: the whole fit of one run (every balanced subset) beside one "
                  "scikit-learn fit of the same solver on one balanced subset of the same features; ratio = fit / "
                  "(subsets × one fit): 1.0 = the fits one after another and nothing else, 0.5 = two at a time.", "",
                  "| row | fit of one run, s | one scikit-learn fit, s | subsets | ratio | recorded, s | runs / hour |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| `{x['row']}` | {x['fit_s']:.2f} | {x['single_fit_s']:.2f} | {x['subsets']} | "
                  f"{x['fit_ratio']:.2f}× | {x['recorded_run_s']:.1f} | {x['runs_per_hour']:.0f} |" for x in fits]
    lines += ["", f"**The study's column at these prices: {runs} runs, {alone_s / 3600:.1f} h** on this machine "
              f"with every run alone (`studies.stack_size: 1`, the default on a CPU); **{stacked_s / 3600:.1f} h** "
              f"with every stackable row's runs stacked {stack} at a time (`studies.stack_size: {stack}`, every run "
              "at its stacked price). Each row's run price × its runs: every seed of its config, every other search "
              "config once; the other datasets of the column priced at this dataset's step, since their shapes are "
              "the same.", ""]
    return "\n".join(lines)
