"""DVC stage `download`: fetch and verify the MNIST IDX files (mirror directory or canonical URLs)."""

import click

from gerne.config import load_params
from gerne.data.mnist import fetch_mnist
from pipeline._common import params_option, stage


@click.command()
@params_option
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Directory for the four .gz files.")
@stage
def main(params_path: str, out: str) -> None:
    """Download (or copy from a mirror directory) the MNIST files and check their MD5s."""
    params = load_params(params_path)
    fetch_mnist(out, mirror=params.cmnist.mnist_mirror or None)


if __name__ == "__main__":
    main()
