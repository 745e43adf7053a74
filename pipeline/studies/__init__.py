"""Datasets-2 (Waterbirds, CelebA, CivilComments) under the SubpopBench protocol: Table 2 and Table 3."""
