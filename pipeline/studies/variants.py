"""Dataset variants (``variant_of``): a dataset declared as another one with its own prepare options (C-MNIST at
another ratio), completed from its base before validation (``pipeline.studies.config``)."""

from __future__ import annotations

from typing import Any

from pipeline.schema import hint as _hint

VARIANT_FIXED = ("kind", "root")  # a variant reads its base's files


def resolve_variants(datasets: Any) -> Any:
    """``datasets`` with each variant (``variant_of: <base>``) completed from its base: the base's fields, its
    ``prepare`` options updated by the variant's. A variant must set ``prepare`` (its own DVC param path: adding a
    variant reruns nothing of the others) and keeps the base's kind and files."""
    if not isinstance(datasets, dict):
        return datasets
    out = dict(datasets)
    for name, entry in datasets.items():
        if not isinstance(entry, dict) or entry.get("variant_of") is None:
            continue
        base = entry["variant_of"]
        if base not in datasets or not isinstance(datasets[base], dict):
            raise ValueError(f"datasets.{name}.variant_of names '{base}', which is not declared under datasets"
                             f"{_hint(str(base), datasets)}")
        if datasets[base].get("variant_of") is not None:
            raise ValueError(f"datasets.{name}.variant_of names '{base}', itself a variant of "
                             f"'{datasets[base]['variant_of']}'; name that one instead")
        fixed = [k for k in VARIANT_FIXED if k in entry]
        if fixed:
            raise ValueError(f"datasets.{name} sets {fixed}: a variant reads the files of its base ('{base}'); set "
                             "them there, or declare a dataset of its own")
        if not isinstance(entry.get("prepare"), dict):
            raise ValueError(f"datasets.{name} (a variant of '{base}') needs `prepare`: the options it changes, "
                             "e.g. {ratio: 1.0}, or {} for the base's data under another protocol")
        inherited = {k: v for k, v in datasets[base].items() if k != "dir"}  # its own folder, not its base's
        out[name] = {**inherited, **entry,
                     "prepare": {**(datasets[base].get("prepare") or {}), **entry["prepare"]}}
    return out
