"""The sampler under a real torch.distributed process group (gloo, 2 CPU processes): each rank reads its rank and
world size from the group, and the ranks' shares of every step make up the one-process batch."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gerne.loop import GerneBatchSampler

WORLD, STEPS = 2, 3


def _labels() -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.arange(2).repeat_interleave(60)
    return y, (torch.arange(120) % 6 == 0).long()


def _rank(rank: int, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=WORLD)
    try:
        sampler = GerneBatchSampler(*_labels(), batch_size=4, seed=11, steps=STEPS)  # rank and size from the group
        mine = [torch.tensor(batch) for batch in sampler]
        gathered: list[list[torch.Tensor] | None] = [None] * WORLD
        dist.all_gather_object(gathered, [sampler.rank, sampler.world_size, mine])
        if rank == 0:
            torch.save(gathered, out)
    finally:
        dist.destroy_process_group()


def test_ranks_draw_shares_of_the_one_process_batches(tmp_path: Path) -> None:
    out = tmp_path / "gathered.pt"
    mp.spawn(_rank, args=(f"file://{tmp_path / 'init'}", str(out)), nprocs=WORLD, join=True)
    gathered = torch.load(out)
    assert [g[:2] for g in gathered] == [[0, WORLD], [1, WORLD]]
    single = GerneBatchSampler(*_labels(), batch_size=4, seed=11, steps=STEPS, rank=0, world_size=1)
    for step, whole in enumerate(single):
        n = len(whole) // 2
        for half in (slice(0, n), slice(n, 2 * n)):
            shares = [g[2][step] for g in gathered]
            union = torch.cat([s[: len(s) // 2] if half.start == 0 else s[len(s) // 2 :] for s in shares])
            assert sorted(union.tolist()) == sorted(whole[half])
