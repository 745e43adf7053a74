"""How a table row's method is built from a search config: one options function per registered method.

The library's methods take their own options (``gerne.methods``); the harness maps a dataset's protocol and a
search config onto them. Add a method to the declared studies by one entry here (and a row under
``studies.rows`` naming it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gerne.core.shares import group_shares
from gerne.data.contract import Split, group_counts
from gerne.errors import ConfigError
from pipeline.studies.config import Protocol
from pipeline.studies.search import resolve_beta


def gerne_options(protocol: Protocol, train: Split, cfg: dict[str, Any], pseudo: bool) -> dict[str, Any]:
    """c from the config, β resolved inside Eq. 9 on ``train``'s (pseudo-)groups, B per class (or per pseudo-group
    where the protocol says so)."""
    counts = group_counts(train.y.cpu().numpy(), train.a.cpu().numpy(), train.num_classes, train.num_attributes)
    batch, unit = protocol.batch_size, protocol.batch_unit
    if pseudo and protocol.pseudo_batch_size:
        batch, unit = protocol.pseudo_batch_size, "group"
    return {"c": cfg["c"], "beta": resolve_beta(cfg, group_shares(counts)), "batch_size": batch,
            "batch_unit": unit, "track_both_losses": protocol.track_both_losses}


def erm_options(protocol: Protocol, train: Split, cfg: dict[str, Any], pseudo: bool) -> dict[str, Any]:
    """Natural sampling with B samples per step (``batch_unit: total``, DFA's Vanilla) or as many as a
    class-balanced batch (B per class × K)."""
    per_class = protocol.batch_unit == "class"
    return {"batch_size": protocol.batch_size * (train.num_classes if per_class else 1)}


def uniform_options(protocol: Protocol, train: Split, cfg: dict[str, Any], pseudo: bool) -> dict[str, Any]:
    """ReWeight / SqrtReWeight: ERM's uniform batches (see :func:`erm_options`)."""
    return erm_options(protocol, train, cfg, pseudo)


def groupdro_options(protocol: Protocol, train: Split, cfg: dict[str, Any], pseudo: bool) -> dict[str, Any]:
    """Group-balanced batches of B per class and the step size η (``eta``; the reference code's default 0.01)."""
    return {"batch_size": protocol.batch_size, "eta": cfg.get("eta", 1.0e-2)}


def sw_options(protocol: Protocol, train: Split, cfg: dict[str, Any], pseudo: bool) -> dict[str, Any]:
    """SW at GERNE's c and β (resolved as for GERNE), B per class."""
    counts = group_counts(train.y.cpu().numpy(), train.a.cpu().numpy(), train.num_classes, train.num_attributes)
    return {"c": cfg["c"], "beta": resolve_beta(cfg, group_shares(counts)), "batch_size": protocol.batch_size}


def lff_options(protocol: Protocol, train: Split, cfg: dict[str, Any], pseudo: bool) -> dict[str, Any]:
    """LfF: ERM's uniform batches; the biased model has the protocol's optimiser (q and the EMA: LfF's 0.7)."""
    return {**erm_options(protocol, train, cfg, pseudo), "optimizer": protocol.optimizer, "lr": cfg["lr"],
            "weight_decay": protocol.weight_decay, "momentum": protocol.momentum}


def jtt_options(protocol: Protocol, train: Split, cfg: dict[str, Any], pseudo: bool) -> dict[str, Any]:
    """JTT: ERM's batch size, the upsampling factor ``up`` of the row's config or search (no default: the source
    tunes it per dataset)."""
    if "up" not in cfg:
        raise ConfigError("a jtt row needs its upsampling factor: config {up: 20.0} or a search over up")
    return {**erm_options(protocol, train, cfg, pseudo), "up": cfg["up"]}


def dfr_options(protocol: Protocol, train: Split, cfg: dict[str, Any], pseudo: bool,
                reference: dict[str, Any] | None = None) -> dict[str, Any]:
    """DFR: the reference checkpoint's weights (its model must be the row's), C of the config or search, the
    number of balanced subsets (DFR's 10 unless the config says), the protocol's ``holdout`` split."""
    if reference is None:
        raise ConfigError("a dfr row retrains the reference model's last layer: it needs the reference checkpoint")
    if "C" not in cfg:
        raise ConfigError("a dfr row needs its inverse L1 strength: config {C: 0.1} or a search over C")
    mine = {"name": protocol.model, **protocol.model_options}
    theirs = {k: v for k, v in reference["model"].items() if k != "pretrained"}
    if {k: v for k, v in mine.items() if k != "pretrained"} != theirs:
        raise ConfigError(f"the dfr row trains model {mine} but the reference model is {theirs}; DFR retrains the "
                          "reference's last layer, so give the row the reference's model (no protocol override)")
    return {"reference": reference["state_dict"], "C": cfg["C"], "subsets": int(cfg.get("subsets", 10)),
            "holdout": protocol.holdout}


USES_BETA = ("gerne", "sw")  # methods whose options take β (gerne validate checks it against Eq. 9)
# The batch units (``protocol.batch_unit``) each method's options understand (checked with the studies).
BATCH_UNITS: dict[str, tuple[str, ...]] = {"gerne": ("class", "group"), "erm": ("class", "total"),
                                           "reweight": ("class", "total"), "sqrt_reweight": ("class", "total"),
                                           "groupdro": ("class",), "sw": ("class",), "lff": ("class", "total"),
                                           "jtt": ("class", "total"), "dfr": ("class", "total", "group")}
RECORDED = {"dfr": ("holdout",)}  # protocol fields a method's options read beyond the batch (fingerprinted)
METHOD_OPTIONS: dict[str, Callable[..., dict[str, Any]]] = {  # (protocol, train, cfg, pseudo[, reference])
    "gerne": gerne_options,
    "erm": erm_options,
    "reweight": uniform_options,
    "sqrt_reweight": uniform_options,
    "groupdro": groupdro_options,
    "sw": sw_options,
    "lff": lff_options,
    "jtt": jtt_options,
    "dfr": dfr_options,
}
