"""DVC stage `reference@<dataset>`: the biased reference model f̃ of Algorithm 2 (class-balanced ERM, lr ×0.1,
wd ×2, checkpoint by validation class-balanced accuracy)."""


import click

from pipeline._common import data_option, dataset_option, params_option, stage
from pipeline._written import selected, wrote
from pipeline.plan import load_planned
from pipeline.studies.reference import train_reference


@click.command()
@params_option
@data_option
@dataset_option
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="f̃ at its best val CBA.")
@click.option("--summary", required=True, type=click.Path(dir_okay=False), help="The run summary (JSON).")
@stage
def main(params_path: str, data: str, dataset: str, checkpoint: str, summary: str) -> None:
    """Train the biased model of DATASET and keep its checkpoint with the best class-balanced val accuracy."""
    result = train_reference(load_planned(params_path), dataset, data, checkpoint, summary)
    wrote([checkpoint, summary], f"reference model f̃: {selected(result, 'val_cba')}")


if __name__ == "__main__":
    main()
