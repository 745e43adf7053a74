"""GERNE in your own training loop: a torchvision ResNet-18 on an image folder with a metadata.csv (filename, split,
y, a), with the bias attribute known or replaced by pseudo-groups from a biased model (Sec. 4.2). Prints test GBA.

    python examples/own_loop.py mydata [--pseudo 0.1] [--amp] [--steps 300]
--amp (bf16 autocast) is for GPUs and CPUs with bf16 instructions: a 2-core EPYC without them took ~19 s a step.
"""

import argparse
import csv
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, RandomSampler, TensorDataset
from torchvision.models import resnet18
from torchvision.transforms.functional import to_tensor

from gerne import gba
from gerne.loop import GerneBatchSampler, GerneLoss, confidences, pseudo_groups, split


def load(root: Path, split: str) -> tuple[TensorDataset, torch.Tensor, torch.Tensor]:  # a split of metadata.csv
    rows = [r for r in csv.DictReader((root / "metadata.csv").read_text().splitlines()) if r["split"] == split]
    x = torch.stack([to_tensor(Image.open(root / r["filename"]).convert("RGB")) for r in rows])
    y, a = (torch.tensor([int(r[k]) for r in rows]) for k in ("y", "a"))
    return TensorDataset(x, y), y, a


def fit(model, loader, loss_fn, amp: bool) -> torch.nn.Module:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    for x, y in loader:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):  # "cuda" on a GPU
            loss = loss_fn(torch.cat([model(half) for half in split(x)]).float(), y)  # BatchNorm: per batch
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


args = argparse.ArgumentParser()
args.add_argument("root", type=Path)
args.add_argument("--pseudo", type=float, help="no attribute labels: pseudo-minority share t per class")
args.add_argument("--beta", type=float, default=1.0)
args.add_argument("--steps", type=int, default=300)
args.add_argument("--amp", action="store_true")
args = args.parse_args()
torch.manual_seed(0)
(train, y, attributes), (test, y_test, a_test) = load(args.root, "train"), load(args.root, "test")
K = int(y.max()) + 1
if args.pseudo:  # Algorithm 2: a biased model (plain ERM), its confidence in each sample's class, the t least sure
    erm = RandomSampler(train, num_samples=args.steps * 32, generator=torch.Generator().manual_seed(0))
    biased = fit(resnet18(num_classes=K), DataLoader(train, batch_size=32, sampler=erm), F.cross_entropy, args.amp)
    attributes = pseudo_groups(confidences(biased, DataLoader(train, batch_size=256)), y, args.pseudo)
sampler = GerneBatchSampler(y, attributes, batch_size=16, c=0.5, beta=args.beta, steps=args.steps, seed=0)
model = fit(resnet18(num_classes=K), DataLoader(train, batch_sampler=sampler), GerneLoss(args.beta), args.amp)
with torch.no_grad():
    pred = model.eval()(test.tensors[0]).argmax(1)
print(f"test GBA {100 * gba(pred, y_test, a_test):.2f} % ({'pseudo' if args.pseudo else 'known'} attributes)")
