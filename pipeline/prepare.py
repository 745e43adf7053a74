"""DVC stage `prepare@<dataset>`: raw files (a release, or your own folder) → the dataset contract, counts checked."""

import shutil
from pathlib import Path

import click

from gerne.io import atomic_path
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
    info = prepare(p, dataset, raw_dir, out)
    with atomic_path(counts) as tmp:
        shutil.copyfile(Path(out) / "counts.json", tmp)
    wrote([out, counts], f"{dataset}: {split_sizes(info['counts'])} samples, {info['seconds']:.0f} s")


if __name__ == "__main__":
    main()
