"""DVC stage `download`: fetch and verify the MNIST IDX files (mirror directory or canonical URLs)."""

import click

from gerne.data.mnist import fetch_mnist, resolve_mirror
from pipeline._common import params_option, stage
from pipeline._written import wrote
from pipeline.config import load_params


@click.command()
@params_option
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory for the four .gz files.")
@stage
def main(params_path: str, out: str) -> None:
    """Download (or copy from a mirror directory) the MNIST files and check their MD5s."""
    params = load_params(params_path)
    paths = fetch_mnist(out, mirror=params.cmnist.mnist_mirror or None)
    source = resolve_mirror(params.cmnist.mnist_mirror or None)
    wrote([out], f"{len(paths)} MNIST files, MD5-verified, " + (f"from the mirror {source}" if source else
                                                                 "downloaded or already present"))


if __name__ == "__main__":
    main()
