"""Price Table 1's C-CIFAR-10 and bFFHQ columns: the real ResNet-18 GERNE step timed at each column's shape, times
the training steps the column's runs make (``params.yaml`` with the column switched on).

Shapes: C-CIFAR-10 at 32 px with two batches of B·K = 1,000 images per step, bFFHQ at 224 px with two batches of
64. The synthetic split has two classes, so B per class is set to give the same images per step. Only the training
steps are priced. Evaluation and process start come on top: about one tenth on C-MNIST (reports/benchmarks.md).
Run it on the machine that will train (`bash benchmarks/device.sh` on a GPU); on a CPU it takes minutes a step.
``--from-json`` measures nothing: it renders a result measured elsewhere (DVC stage ``columns_gpu``) and logs it.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import click
import yaml

from benchmarks.measure.image import image_rates
from benchmarks.measure.suite import machine
from gerne.device import resolve_device
from gerne.io import read_json, write_json, write_text
from pipeline.config import Params, parse_params

COLUMNS = {  # column -> (its datasets, image side, images per step over both batches)
    "C-CIFAR-10": (["ccifar10", "ccifar10_r1", "ccifar10_r2", "ccifar10_r5"], 32, 2000),
    "bFFHQ": (["bffhq"], 224, 128),
}
CIFAR10_TRAIN = 50_000


def steps_per_run(p: Params, dataset: str) -> int:
    """Training steps of one run of ``dataset``: its ``steps``, or epochs × one pass of its training split."""
    d = p.datasets[dataset]
    if d.steps:
        return int(d.steps)
    per_epoch = d.steps_per_epoch or math.ceil((CIFAR10_TRAIN - d.prepare["val_size"]) / (d.batch_size * 10))
    return int(d.epochs) * per_epoch


def column_steps(raw: dict[str, Any], datasets: list[str]) -> tuple[int, int]:
    """(runs, training steps) of Table 1's rows on ``datasets`` alone (``raw``: params.yaml as read)."""
    from benchmarks.run import column_runs

    data = copy.deepcopy(raw)
    data["studies"]["tables"] = {"table1": {**data["studies"]["tables"]["table1"], "datasets": datasets}}
    data["studies"]["table3"]["datasets"] = []
    data.pop("figures", None)
    for name in [r for r, row in data["studies"]["rows"].items() if row.get("beyond_eq9_bound")]:
        data["studies"]["rows"].pop(name)  # Fig. 2's figure-only rows go with the figures
    one = parse_params(data)
    runs, _ = column_runs(one)
    return runs, sum(steps_per_run(one, d) for d in datasets) * runs // len(datasets)


def price(raw: dict[str, Any], device: str, steps: int) -> dict[str, Any]:
    """Per column: the measured images/s (bf16 and fp32) and the hours its runs' training steps take."""
    dev = resolve_device(device, "--device")
    out: dict[str, Any] = {"device": str(dev), "machine": machine(), "timed_steps": steps}
    for name, (datasets, size, per_step) in COLUMNS.items():
        runs, total = column_steps(raw, datasets)
        rates = image_rates(dev, "resnet18", size, n=max(1024, 2 * per_step), batch_size=per_step // 4, steps=steps)
        hours = {prec: total * per_step / rates[f"model_{prec}_images_per_s"] / 3600 for prec in ("bf16", "fp32")}
        out[name] = {"runs": runs, "training_steps": total, "images_per_step": per_step, "image_size": size,
                     **{k: v for k, v in rates.items() if k.startswith("model_")},
                     **{f"hours_{k}": round(v, 2) for k, v in hours.items()}}
    return out


def to_markdown(result: dict[str, Any]) -> str:
    """The price list as a Markdown table: per column its runs, steps, measured step rates and expected hours."""
    lines = ["# Expected training time of Table 1's C-CIFAR-10 and bFFHQ columns", "",
             f"Measured on {result['machine']} (`python -m benchmarks.columns`, {result.get('timed_steps', '?')} "
             "timed ResNet-18 GERNE steps per shape and precision, synthetic images of the column's shape). Hours "
             "= the column's training steps × images per step / images per second: Table 1's GERNE rows at "
             "params.yaml's seeds, grids and budgets, one run at a time on one GPU; evaluation and process start come "
             "on top (about one tenth on C-MNIST), and the baselines' own recipes are not included.", "",
             "| column | runs | training steps | images/step | px | fp32 images/s | bf16 images/s | hours fp32 "
             "| hours bf16 |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in COLUMNS:
        c = result[name]
        lines.append(f"| {name} | {c['runs']} | {c['training_steps']:,} | {c['images_per_step']} | "
                     f"{c['image_size']} | {c['model_fp32_images_per_s']:,.0f} | {c['model_bf16_images_per_s']:,.0f} "
                     f"| {c['hours_fp32']:.1f} | {c['hours_bf16']:.1f} |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--steps", default=20, show_default=True, type=int, help="Timed steps per shape and precision.")
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--json", "json_path", default=None, help="Also write the result here.")
@click.option("--from-json", "from_json", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Measure nothing: render and log a result measured elsewhere (benchmarks/device.sh's JSON).")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Write the Markdown table here.")
@click.option("--track/--no-track", default=False, show_default=True, help="Log the result as an MLflow run.")
def main(device: str, steps: int, params_path: str, json_path: str | None, from_json: str | None,
         out: str | None, track: bool) -> None:
    """Print the expected training time of the C-CIFAR-10 and bFFHQ columns on this machine."""
    if from_json:
        result = read_json(from_json)
    else:
        result = price(yaml.safe_load(Path(params_path).read_text()), device, steps)
        if json_path:
            write_json(json_path, result)
    click.echo(json.dumps(result, indent=2))
    if out:
        write_text(out, to_markdown(result))
    if track:
        from gerne.tracking import Tracker

        metrics = {f"{name}_{k}": float(v) for name in COLUMNS for k, v in result[name].items()
                   if isinstance(v, (int, float))}
        with Tracker("benchmarks").run(f"columns-{result['device']}", params={"from_json": from_json or ""},
                                       tags={"stage": "columns_gpu", "machine": result["machine"]}) as run:
            run.log_metrics(metrics, step=0)
            if out:
                run.log_artifact(Path(out))


if __name__ == "__main__":
    main()
