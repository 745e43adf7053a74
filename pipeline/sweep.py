"""DVC stages `sweep@<dataset>-<row>` (declared datasets: the seeded random search) and `sweep_known@<ratio>` /
`sweep_unknown@<ratio>` (C-MNIST: the grid): validation-only search, then the winner with every seed."""

from pathlib import Path

import click

from gerne.errors import ConfigError
from pipeline._common import data_option, params_option, stage
from pipeline._written import files, read_summaries, run_stats, wrote
from pipeline.config import Params, load_params


def _cmnist(p: Params, ratio: float, kind: str, data: str, pseudo: str | None, sweep_dir: str, out_dir: str) -> None:
    from pipeline.runs.sweep import tune

    if p.sweep is None:
        raise ConfigError("params.yaml has no `sweep` section")
    choice = tune(p, kind, data, p.ratio(ratio), sweep_dir, out_dir, pseudo_file=pseudo)
    best = choice["best"]
    point = ", ".join(f"{k} = {best['point'][k]}" for k in ("t", "c", "beta") if k in best["point"])
    finals = [Path(out_dir) / f"seed{s}.json" for s in p.train.seeds]
    wrote([f"{Path(sweep_dir) / 'selected.json'} and {files(finals)}"],
          f"{len(choice['candidates'])} grid point(s) trained, {len(choice['skipped'])} outside Eq. 9 skipped; best "
          f"{point}: val GBA {100 * best['value']:.1f}; the winner: {run_stats(read_summaries(finals))}")


def _declared(params_path: str, dataset: str, row: str, data: str, scores: str | None, sweep_dir: str,
              out_dir: str) -> None:
    from pipeline.plan import load_planned
    from pipeline.studies.stages import search

    p = load_planned(params_path)
    choice = search(p, dataset, row, data, sweep_dir, out_dir, scores)
    best = choice["best"]
    finals = [Path(out_dir) / f"seed{s}.json" for s in p.studies.seeds]
    wrote([f"{Path(sweep_dir) / 'selected.json'} and {files(finals)}"],
          f"{len(choice['candidates'])} configs, {len(choice['skipped'])} outside Eq. 9 skipped; best config "
          f"{best['config']}: {choice['metric']} "
          f"{100 * best['value']:.1f}; the winner: {run_stats(read_summaries(finals), 'test_wga')}")


@click.command()
@params_option
@data_option
@click.option("--dataset", default=None, help="A declared dataset (params.yaml: datasets); else C-MNIST.")
@click.option("--row", default=None, help="With --dataset: a row of studies.rows (yes_yes, no_yes, no_no, …).")
@click.option("--input", "upstream", default=None, type=click.Path(dir_okay=False),
              help="With --dataset: the reference scores (pseudo-attribute rows) or the dataset's counts.")
@click.option("--ratio", default=None, type=float, help="C-MNIST: bias-conflicting share in percent.")
@click.option("--kind", default=None, type=click.Choice(["known", "unknown"]), help="C-MNIST attribute case.")
@click.option("--pseudo", default=None, type=click.Path(dir_okay=False), help="C-MNIST pseudo-attributes (unknown).")
@click.option("--sweep-dir", required=True, type=click.Path(file_okay=False), help="One folder per point.")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), help="The winner's seed<seed>.json.")
@stage
def main(params_path: str, data: str, dataset: str | None, row: str | None, upstream: str | None,
         ratio: float | None, kind: str | None, pseudo: str | None, sweep_dir: str, out_dir: str) -> None:
    """Train every search point once, pick the best on validation data, rerun the winner with every seed."""
    if dataset is not None:
        if row is None:
            raise ConfigError("--dataset needs --row (one of studies.rows)")
        _declared(params_path, dataset, row, data, upstream, sweep_dir, out_dir)
    elif ratio is None or kind is None:
        raise ConfigError("give --dataset and --row (a declared dataset) or --ratio and --kind (C-MNIST)")
    else:
        _cmnist(load_params(params_path), ratio, kind, data, pseudo, sweep_dir, out_dir)


if __name__ == "__main__":
    main()
