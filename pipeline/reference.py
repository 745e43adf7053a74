"""DVC stage `reference@<dataset>`: the biased reference model f̃ of Algorithm 2 and its confidence scores."""


import click

from pipeline._common import data_option, params_option, stage
from pipeline._written import run_stats, wrote
from pipeline.plan import load_planned
from pipeline.studies.stages import train_reference


@click.command()
@params_option
@data_option
@click.option("--dataset", required=True, help="A declared dataset (params.yaml: datasets).")
@click.option("--scores", required=True, type=click.Path(dir_okay=False), help="softmax(f̃(x))_y per train sample.")
@click.option("--summary", required=True, type=click.Path(dir_okay=False), help="The run summary (JSON).")
@stage
def main(params_path: str, data: str, dataset: str, scores: str, summary: str) -> None:
    """Train the biased model of DATASET (class-balanced ERM, lr ×0.1, wd ×2) and score its training split."""
    p = load_planned(params_path)
    result = train_reference(p, dataset, data, scores, summary)
    wrote([scores, summary], run_stats([result], "test_acc"))


if __name__ == "__main__":
    main()
