"""DVC stage `train`: everything the studies train, dataset by dataset: the reference model f̃ and its scores where a
row needs them (Algorithm 2), every row with one config (every seed), every search (its configs on validation data,
then the winner with every seed) and Table 3's validation-only runs. A run whose summary carries the fingerprint of
what decides its numbers is reused, not retrained (``pipeline.studies.resume``): after an edit of params.yaml only
what changed trains."""

from pathlib import Path
from typing import Any

import click

from gerne import layout
from gerne.errors import ConfigError
from pipeline._common import params_option, stage
from pipeline._written import files, read_summaries, run_stats, selected, wrote
from pipeline.config import Params, load_params
from pipeline.plan import plan
from pipeline.schema import hint
from pipeline.studies.reference import score, train_reference
from pipeline.studies.stages import search, table3, train


def _reference(p: Params, item: dict[str, Any]) -> None:
    result = train_reference(p, item["dataset"], item["data"], item["checkpoint"], item["summary"])
    wrote([item["checkpoint"], item["summary"]], f"reference model f̃: {selected(result, 'val_cba')}")


def _scores(p: Params, item: dict[str, Any]) -> None:
    result = score(p, item["dataset"], item["data"], item["checkpoint"], item["scores"], item["quality"])
    sizes = ", ".join(f"t = {t}: {q['size']:,}" for t, q in result["thresholds"].items()) or "no thresholds listed"
    wrote([item["scores"], item["quality"]], f"confidence of every training sample; pseudo-minority sizes {sizes}")


def _row(p: Params, item: dict[str, Any]) -> None:
    train(p, item["dataset"], item["row"], item["data"], item["out_dir"], item["input"])
    finals = [layout.summary(item["out_dir"], s) for s in p.studies.seeds]
    wrote(finals, run_stats(read_summaries(finals), p.datasets[item["dataset"]].oracle_metric))


def _sweep(p: Params, item: dict[str, Any]) -> None:
    choice = search(p, item["dataset"], item["row"], item["data"], item["sweep_dir"], item["out_dir"], item["input"])
    best, finals = choice["best"], [layout.summary(item["out_dir"], s) for s in p.studies.seeds]
    wrote([f"{layout.selected(item['sweep_dir'])} and {files(finals)}"],
          f"{len(choice['candidates'])} configs, {len(choice['skipped'])} outside Eq. 9 skipped; best "
          f"{best['name']}: {choice['metric']} {100 * best['value']:.1f}; the winner: "
          f"{run_stats(read_summaries(finals), p.datasets[item['dataset']].oracle_metric)}")


def _valonly(p: Params, item: dict[str, Any]) -> None:
    summaries = table3(p, item["data"], item["out_dir"], item["dataset"])
    wrote([item["out_dir"]], run_stats(summaries, "test_wga", "oracle"))


STEPS = {"reference": _reference, "scores": _scores, "train": _row, "sweep": _sweep, "valonly": _valonly}


@click.command()
@params_option
@click.option("--dataset", "datasets", multiple=True, help="Only this dataset (repeatable; default: every one).")
@click.option("--row", "rows", multiple=True, help="Only this row's runs (repeatable); its inputs must exist.")
@click.option("--only", "kinds", multiple=True, type=click.Choice(list(STEPS)),
              help="Only this kind of work (repeatable; default: all, in the order listed).")
@stage
def main(params_path: str, datasets: tuple[str, ...], rows: tuple[str, ...], kinds: tuple[str, ...]) -> None:
    """Train every (dataset, row, config, seed) the studies ask for that has no current summary yet."""
    p = load_params(params_path)
    work = plan(p)
    for name in datasets:
        p.declared(name)  # ConfigError naming the declared ones
    for name in rows:
        if name not in p.studies.rows:
            raise ConfigError(f"unknown row '{name}'; defined under studies.rows{hint(name, p.studies.rows)}")
    if rows and not kinds:
        kinds = ("train", "sweep")  # a row's own runs; its reference model and scores come from a full run
    todo = [(kind, item) for kind in kinds or STEPS for item in work[kind].values()
            if not (datasets and item["dataset"] not in datasets) and not (rows and item.get("row") not in rows)]
    if (datasets or rows) and not todo:
        what, where = " or ".join(rows) or "anything", " or ".join(datasets) or "any dataset"
        raise ConfigError(f"no study trains {what} on {where} (studies.tables, figures and studies.table3 say what "
                          "trains where)")
    for kind, item in todo:
        click.echo(f"{kind} {item['dataset']}" + (f" {item['row']}" if "row" in item else ""), err=True)
        STEPS[kind](p, item)
    Path("runs").mkdir(exist_ok=True)
    Path("models").mkdir(exist_ok=True)


if __name__ == "__main__":
    main()
