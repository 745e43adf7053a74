"""DVC stage `train@<dataset>-<row>`: a row with one config (``search: none``) trained with every seed."""


import click

from gerne import layout
from pipeline._common import data_option, dataset_option, params_option, stage
from pipeline._written import read_summaries, run_stats, wrote
from pipeline.plan import load_planned
from pipeline.studies.stages import train


@click.command()
@params_option
@dataset_option
@click.option("--row", required=True, help="A row of studies.rows with search: none (erm, gerne_known, …).")
@data_option
@click.option("--input", "upstream", default=None, type=click.Path(dir_okay=False),
              help="The reference scores (pseudo-attribute rows), its checkpoint (DFR) or the dataset's counts.")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), help="Writes seed<seed>.json here.")
@stage
def main(params_path: str, dataset: str, row: str, data: str, upstream: str | None, out_dir: str) -> None:
    """Train ROW on DATASET with every seed of studies.seeds (β checked against Eq. 9 first)."""
    p = load_planned(params_path)
    train(p, dataset, row, data, out_dir, upstream)
    finals = [layout.summary(out_dir, s) for s in p.studies.seeds]
    wrote(finals, run_stats(read_summaries(finals), p.datasets[dataset].oracle_metric))


if __name__ == "__main__":
    main()
