"""DVC stage `prepare@<dataset>`: raw files (a release, or your own folder) → the dataset contract, counts checked.

The dataset is built beside its folder and swapped in only when it is complete and passes the contract, so a refused
or failed preparation (a typo in params.yaml, a bad own table, a corrupt release) leaves the previous prepared folder
as it was: its DVC output is ``persist: true``, so DVC does not delete it before the stage runs either.
"""

import shutil
from pathlib import Path

import click

from gerne.io import atomic_path, staged_dir
from pipeline._common import dataset_option, params_option, stage
from pipeline._written import split_sizes, wrote
from pipeline.plan import load_planned
from pipeline.studies.stages import prepare


@click.command()
@params_option
@dataset_option
@click.option("--raw-dir", required=True, type=click.Path(file_okay=False), help="Release or own-data folder.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Prepared dataset folder.")
@click.option("--counts", required=True, type=click.Path(dir_okay=False), help="Copy of counts.json (git-tracked).")
@stage
def main(params_path: str, dataset: str, raw_dir: str, out: str, counts: str) -> None:
    """Prepare DATASET from RAW_DIR into OUT and record its group counts."""
    p = load_planned(params_path)
    with staged_dir(out, keep_partial=False) as work:  # OUT keeps its previous contents until this succeeds
        info = prepare(p, dataset, raw_dir, work)
    with atomic_path(counts) as tmp:
        shutil.copyfile(Path(out) / "counts.json", tmp)
    wrote([out, counts], f"{dataset}: {split_sizes(info['counts'])} samples, {info['seconds']:.0f} s")


if __name__ == "__main__":
    main()
