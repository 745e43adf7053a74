"""The methods benchmark as Markdown (``reports/benchmarks_methods.md``)."""

from __future__ import annotations

from typing import Any


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def to_markdown(r: dict[str, Any], column_s: float, column_runs: int) -> str:
    """The measurement as a report: a line per SGD row, then the fits of the rows without SGD steps, then the price
    of the study's column (``column_runs`` runs in ``column_s`` seconds)."""
    sgd = [x for x in r["rows"] if "step_s" in x]
    fits = [x for x in r["rows"] if "fit_s" in x]
    lines = [f"# Every method at its floor — {r['dataset']}, the `{r['study']}` study's rows", "",
             f"Measured by `make bench-methods` (DVC stage `benchmark_methods`) on: {r['machine']}; device "
             f"`{r['device']}`.", "",
             "Each row is built by the pipeline's own code for config 0, seed 0 (its method, grouping, batch, "
             "optimiser, model). **Step**: the training loop's step (draw, forward, loss, `backward()`, update). "
             "**Floor**: the matrix products that same step performs (recorded from it, backward included: "
             "two batches for GERNE, two models for LfF), replayed alone. **Reference**: the textbook eager step "
             "of the recipe (forward, cross-entropy, `backward()`, the recipe's `torch.optim` optimiser) on one "
             "preloaded float batch of as many rows as the step's first layer sees. Each is the best of 3 blocks of "
             f"{r['steps']} steps, the three timed in turn in each of {r['rounds']} rounds; ratios within a round, "
             "median [range]. **Run**: its steps at the step time plus its evaluations (val, test and train where "
             "the row scores it) at the measured evaluation time; **recorded**: the training seconds the committed "
             "runs logged (evaluation excluded).", "",
             "| row | method, optimiser | rows / step | step, ms | floor, ms | step / floor | reference, ms | "
             "step / reference | reference / floor | evaluation, s | steps × evaluations | run, s | recorded "
             "training, s | runs / hour |", "|" + "---|" * 14]
    for x in sgd:
        lo, hi = x["ratio_floor_range"]
        lines.append(
            f"| `{x['row']}` | {x['method']}, {x['optimizer']} | {x['rows_per_step']:,} | {_ms(x['step_s'])} | "
            f"{_ms(x['floor_s'])} | {x['ratio_floor']:.2f}× [{lo:.2f}–{hi:.2f}] | {_ms(x['reference_s'])} | "
            f"{x['ratio_reference']:.2f}× | {x['reference_floor']:.2f}× | {x['eval_s']:.3f} | "
            f"{x['steps_per_run']:,} × {x['evaluations_per_run']} | {x['run_s']:.0f} | "
            f"{x['recorded_run_s']:.0f} | {x['runs_per_hour']:.1f} |")
    if fits:
        lines += ["", "Rows without SGD steps: the whole fit of one run (every balanced subset) beside one "
                  "scikit-learn fit of the same solver on one balanced subset of the same features; ratio = fit / "
                  "(subsets × one fit): 1.0 = the fits one after another and nothing else, 0.5 = two at a time.", "",
                  "| row | fit of one run, s | one scikit-learn fit, s | subsets | ratio | recorded, s | runs / hour |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| `{x['row']}` | {x['fit_s']:.2f} | {x['single_fit_s']:.2f} | {x['subsets']} | "
                  f"{x['fit_ratio']:.2f}× | {x['recorded_run_s']:.1f} | {x['runs_per_hour']:.0f} |" for x in fits]
    lines += ["", f"**The study's column at these prices: {column_runs} runs, {column_s / 3600:.1f} h** on "
              "this machine (each row's run price × its runs: every seed of its config, every other search config "
              "once; the other datasets of the column priced at this dataset's step, since their shapes are the "
              "same).", ""]
    return "\n".join(lines)
