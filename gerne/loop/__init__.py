"""GERNE in any PyTorch training loop: your model, your ``Dataset``, your optimiser.

    sampler = GerneBatchSampler(labels, attributes, batch_size=32, c=0.5, beta=1.0, seed=0)
    loader = DataLoader(dataset, batch_sampler=sampler)
    criterion = GerneLoss(beta=1.0)
    for x, y in loader:  # the biased batch, then the less-biased one (Algorithm 1)
        loss = criterion(model(x), y)  # L_ext = L_lb + β·(L_lb − L_b), Eq. 5
        optimizer.zero_grad(); loss.backward(); optimizer.step()

Without attribute labels, ``attributes = pseudo_groups(confidences(biased_model, loader), labels, t)`` (Sec. 4.2).
"""

from gerne.loop.groups import confidences, eq9_bounds, pseudo_groups, true_class_confidence
from gerne.loop.loss import GerneLoss, sample_weights, split
from gerne.loop.sampler import GerneBatchSampler

__all__ = ["GerneBatchSampler", "GerneLoss", "confidences", "eq9_bounds", "pseudo_groups", "sample_weights", "split",
           "true_class_confidence"]
