"""DVC stages `tune_known@<ratio>` / `tune_unknown@<ratio>`: validation-only search, then the winner per seed."""

import click

from gerne.config import load_params
from gerne.errors import ConfigError
from gerne.runs.sweep import tune
from pipeline._common import data_option, params_option, ratio_option, stage


@click.command()
@params_option
@ratio_option
@data_option
@click.option("--kind", required=True, type=click.Choice(["known", "unknown"]), help="Attribute case.")
@click.option("--pseudo", default=None, type=click.Path(dir_okay=False), help="Pseudo-attributes (unknown).")
@click.option("--sweep-dir", required=True, type=click.Path(file_okay=False), help="One folder per grid point.")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), help="The winner's seed<seed>.json.")
@stage
def main(params_path: str, ratio: float, data: str, kind: str, pseudo: str | None, sweep_dir: str,
         out_dir: str) -> None:
    """Train each in-bounds (t,) c, β point once, pick the best validation GBA, rerun it with train.seeds."""
    p = load_params(params_path)
    if p.sweep is None:
        raise ConfigError("params.yaml has no `sweep` section")
    tune(p, kind, data, p.ratio(ratio), sweep_dir, out_dir, pseudo_file=pseudo)


if __name__ == "__main__":
    main()
