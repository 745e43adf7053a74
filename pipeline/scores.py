"""DVC stage `scores@<dataset>`: the reference model's confidence on every training sample, the pseudo-minority
split at each of the dataset's `pseudo_thresholds`, and its precision/recall (Algorithm 2, step 2; Fig. 3)."""

import click

from pipeline._common import data_option, dataset_option, params_option, stage
from pipeline._written import wrote
from pipeline.plan import load_planned
from pipeline.studies.reference import score


@click.command()
@params_option
@data_option
@dataset_option
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="The reference model f̃.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Scores and pseudo-attributes (.npz).")
@click.option("--quality", required=True, type=click.Path(dir_okay=False), help="Precision/recall per t (JSON).")
@stage
def main(params_path: str, data: str, dataset: str, checkpoint: str, out: str, quality: str) -> None:
    """Score DATASET's training split with f̃ and split every class at each threshold."""
    result = score(load_planned(params_path), dataset, data, checkpoint, out, quality)["thresholds"]
    sizes = ", ".join(f"t = {t}: {q['size']:,}" for t, q in result.items()) or "no thresholds listed"
    wrote([out, quality], f"confidence of every training sample; pseudo-minority sizes {sizes}")


if __name__ == "__main__":
    main()
