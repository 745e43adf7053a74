"""DVC stages `train@…` and `train_unknown@…`: the GERNE runs of one (ratio, setting), every seed."""

from pathlib import Path

import click

from pipeline._common import data_option, params_option, ratio_option, stage
from pipeline._written import run_stats, wrote
from pipeline.config import load_params
from pipeline.runs.train import train_runs


@click.command()
@params_option
@ratio_option
@click.option("--setting", required=True, help="A key of `settings` in params.yaml.")
@click.option("--seed", "seeds", multiple=True, type=int, help="Seeds to run (repeatable; default: train.seeds).")
@data_option
@click.option("--pseudo", default=None, type=click.Path(dir_okay=False), help="Pseudo-attributes (unknown case).")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), help="Writes seed<seed>.json here.")
@stage
def main(params_path: str, ratio: float, setting: str, seeds: tuple[int, ...], data: str, pseudo: str | None,
         out_dir: str) -> None:
    """Train with the setting's c, β (checked against Eq. 9 first), train.stack_size seeds per stacked model."""
    p = load_params(params_path)
    summaries = train_runs(p, data, p.ratio(ratio), setting, out_dir, seeds=list(seeds) or None, pseudo_file=pseudo)
    wrote([Path(out_dir) / f"seed{s['seed']}.json" for s in summaries], run_stats(summaries))


if __name__ == "__main__":
    main()
