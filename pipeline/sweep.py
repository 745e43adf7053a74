"""DVC stages `tune_known@<ratio>` / `tune_unknown@<ratio>`: validation-only search, then the winner per seed."""

from pathlib import Path

import click

from gerne.errors import ConfigError
from pipeline._common import data_option, params_option, ratio_option, stage
from pipeline._written import files, read_summaries, run_stats, wrote
from pipeline.config import load_params
from pipeline.runs.sweep import tune


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
    choice = tune(p, kind, data, p.ratio(ratio), sweep_dir, out_dir, pseudo_file=pseudo)
    best = choice["best"]
    point = ", ".join(f"{k} = {best['point'][k]}" for k in ("t", "c", "beta") if k in best["point"])
    finals = [Path(out_dir) / f"seed{s}.json" for s in p.train.seeds]
    wrote([f"{Path(sweep_dir) / 'selected.json'} and {files(finals)}"],
          f"{len(choice['candidates'])} grid point(s) trained, {len(choice['skipped'])} outside Eq. 9 skipped; best "
          f"{point}: val GBA {100 * best['value']:.1f}; the winner: {run_stats(read_summaries(finals))}")


if __name__ == "__main__":
    main()
