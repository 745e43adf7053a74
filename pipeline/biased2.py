"""DVC stage `biased2@dataset`: the biased model of Algorithm 2 and its per-sample scores (Datasets-2)."""

import click

from pipeline._common import data_option, params_option, stage
from pipeline._written import selected, wrote
from pipeline.config import load_params
from pipeline.subpop.stages import train_biased


@click.command()
@params_option
@data_option
@click.option("--dataset", required=True)
@click.option("--scores", required=True, type=click.Path(dir_okay=False), help="Output .npy of softmax(f̃(x))_y.")
@click.option("--summary", required=True, type=click.Path(dir_okay=False), help="Output run summary JSON.")
@stage
def main(params_path: str, data: str, dataset: str, scores: str, summary: str) -> None:
    """Train class-balanced ERM (lr ×0.1, wd ×2) and score every training sample."""
    result = train_biased(load_params(params_path), dataset, data, scores, summary)
    wrote([scores, summary], f"{dataset} biased model f̃: {selected(result, 'val_cba')}")


if __name__ == "__main__":
    main()
