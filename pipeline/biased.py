"""DVC stage `biased@<ratio>`: the biased model f̃ of Algorithm 2 (class-balanced ERM, wd x2, lr x0.1)."""

import click

from pipeline._common import data_option, params_option, ratio_option, stage
from pipeline._written import selected, wrote
from pipeline.config import load_params
from pipeline.runs.biased import train_biased


@click.command()
@params_option
@ratio_option
@data_option
@click.option("--model-out", required=True, type=click.Path(dir_okay=False), help="Checkpoint (best val CBA).")
@click.option("--summary", required=True, type=click.Path(dir_okay=False), help="Run summary JSON.")
@stage
def main(params_path: str, ratio: float, data: str, model_out: str, summary: str) -> None:
    """Train f̃ and keep the checkpoint with the best class-balanced validation accuracy."""
    p = load_params(params_path)
    result = train_biased(p, data, p.ratio(ratio), model_out, summary)
    wrote([model_out, summary], f"biased model f̃: {selected(result, 'val_cba')}")


if __name__ == "__main__":
    main()
