"""DVC stage `data`: every dataset the studies use, fetched (download, or a copy from its mirror, verified) and
prepared into the dataset contract. A release already fetched, and a prepared folder whose stamp matches
(``pipeline.studies.prepared``), are kept: adding a dataset prepares that one only.

A folder is built beside its place and swapped in only when complete and past the contract, so a refused or failed
preparation (a typo in params.yaml, a bad own table, a corrupt release) leaves the previous one as it was.
"""

from pathlib import Path

import click

from gerne.io import staged_dir, write_json
from pipeline._common import params_option, stage
from pipeline._written import split_sizes, wrote
from pipeline.config import load_params
from pipeline.plan import plan
from pipeline.studies.prepared import STAMP, is_current, stamp
from pipeline.studies.stages import fetch, prepare


@click.command()
@params_option
@stage
def main(params_path: str) -> None:
    """Fetch and prepare every dataset some study, figure or Table 3 uses."""
    p = load_params(params_path)
    work = plan(p)
    for item in work["fetch"].values():
        raw = Path(item["raw"])
        if (raw / "checksums.json").is_file():
            click.echo(f"{item['dataset']}: release already in {raw} (checksums.json), kept", err=True)
            continue
        sums = fetch(p, item["dataset"], raw)
        wrote([raw], f"{item['dataset']}: {len(sums)} release file(s) verified, checksums in {raw}/checksums.json")
    for item in work["prepare"].values():
        name, out = item["dataset"], Path(item["data"])
        expected = stamp(p, name, item["raw"], item["module"])
        if is_current(out, expected):
            click.echo(f"{name}: {out} is current (same options, raw files and code), kept", err=True)
            continue
        with staged_dir(out, keep_partial=False) as work_dir:  # OUT keeps its previous contents until this succeeds
            info = prepare(p, name, item["raw"], work_dir)
            write_json(Path(work_dir) / STAMP, expected)
        wrote([out], f"{name}: {split_sizes(info['counts'])} samples, {info['seconds']:.0f} s")


if __name__ == "__main__":
    main()
