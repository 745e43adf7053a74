"""DVC stage `pseudo@<ratio>`: pseudo-attributes for every t, with Fig. 3's precision and recall."""

import click

from pipeline._common import data_option, params_option, ratio_option, stage
from pipeline._written import wrote
from pipeline.config import load_params
from pipeline.runs.biased import derive_pseudo


@click.command()
@params_option
@ratio_option
@data_option
@click.option("--model", required=True, type=click.Path(dir_okay=False), help="Biased model checkpoint.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Pseudo-attribute file (.npz).")
@click.option("--quality", required=True, type=click.Path(dir_okay=False), help="Precision/recall JSON.")
@stage
def main(params_path: str, ratio: float, data: str, model: str, out: str, quality: str) -> None:
    """Split every class at the ⌊t·|X_y|⌋ lowest confidences of f̃ for each t in pseudo.thresholds."""
    p = load_params(params_path)
    result = derive_pseudo(p, data, model, out, quality, p.ratio(ratio))
    sizes = [q["size"] for q in result.values()]
    wrote([out, quality], f"pseudo-attributes for {len(result)} thresholds t = {', '.join(result)}; "
                          f"pseudo-minority {min(sizes):,}–{max(sizes):,} samples")


if __name__ == "__main__":
    main()
