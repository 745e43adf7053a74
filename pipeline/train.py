"""DVC stages `train@…` and `train_unknown@…`: one GERNE run per (ratio, setting, seed)."""

import click

from gerne.config import load_params
from gerne.experiment import train_run
from pipeline._common import params_option, stage


@click.command()
@params_option
@click.option("--ratio", required=True, type=float, help="Bias-conflicting share in percent.")
@click.option("--setting", required=True, help="A key of `settings` in params.yaml.")
@click.option("--seed", required=True, type=int, help="Seed of model init and batch sampling.")
@click.option("--data", required=True, type=click.Path(file_okay=False), help="Prepared dataset directory.")
@click.option("--pseudo", default=None, type=click.Path(dir_okay=False), help="Pseudo-attributes (unknown case).")
@click.option("--summary", required=True, type=click.Path(dir_okay=False), help="Run summary JSON.")
@stage
def main(params_path: str, ratio: float, setting: str, seed: int, data: str, pseudo: str | None,
         summary: str) -> None:
    """Train with the setting's c, β (checked against Eq. 9 first) and write the run summary."""
    p = load_params(params_path)
    train_run(p, data, p.ratio(ratio), setting, seed, summary, pseudo_file=pseudo)


if __name__ == "__main__":
    main()
