"""The training DataLoader: epoch-carrying indices, seeded workers, one shard of the epoch per DDP rank.

Sample randomness is per index (see sampler.py); the loader's torch.Generator seeds the workers' base
seed and worker_init_fn seeds python/numpy/torch in each worker for any library that uses the global
generators. Both are seeded from (seed, rank), so ranks differ and runs repeat.
"""
from __future__ import annotations

import random

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, default_collate

from .sampler import TrackingSampler


class EpochIndexSampler(Sampler[int]):
    """Yields epoch * n .. epoch * n + n - 1, so an index names one sample of one epoch (of this rank)."""

    def __init__(self, num_samples: int):
        self.num_samples = int(num_samples)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self):
        start = self.epoch * self.num_samples
        return iter(range(start, start + self.num_samples))

    def __len__(self) -> int:
        return self.num_samples


def single_threaded_cv2() -> None:
    """OpenCV's own thread pool fights torch's for the cores (pytracking sets 0 too): crops are small."""
    cv2.setNumThreads(0)


def worker_init_fn(worker_id: int) -> None:
    """Seed python, numpy and torch in a worker from its torch seed (base seed from the loader's generator)."""
    single_threaded_cv2()
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def collate(batch: list[dict]) -> dict:
    """Stack tensors batch-first (B x N x ...), ints to tensors, strings to lists."""
    return default_collate(batch)


def loader_seed(seed: int, rank: int) -> int:
    return int(seed) * 1000 + int(rank) + 1


def build_train_loader(dataset: TrackingSampler, batch_size: int, num_workers: int, seed: int, rank: int = 0,
                       pin_memory: bool = False) -> DataLoader:
    """DataLoader over `dataset` (len(dataset) samples per epoch for this rank), drop_last like SUTrack."""
    if len(dataset) < batch_size:
        raise ValueError(f"{len(dataset)} samples per epoch per process is fewer than one batch of {batch_size}: "
                         "raise DATA.TRAIN.SAMPLE_PER_EPOCH or lower TRAIN.BATCH_SIZE")
    single_threaded_cv2()
    generator = torch.Generator()
    generator.manual_seed(loader_seed(seed, rank))
    return DataLoader(dataset, batch_size=batch_size, sampler=EpochIndexSampler(len(dataset)),
                      num_workers=num_workers, collate_fn=collate, pin_memory=pin_memory, drop_last=True,
                      worker_init_fn=worker_init_fn if num_workers > 0 else None, generator=generator,
                      persistent_workers=False, prefetch_factor=2 if num_workers > 0 else None)
