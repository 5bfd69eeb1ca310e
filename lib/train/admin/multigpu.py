"""Distributed helpers: torchrun environment, process group (NCCL on GPU, gloo on CPU), rank-0 checks."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: rank, world size, local rank and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def init_distributed(device: str | None = None) -> DistInfo:
    """Read RANK/WORLD_SIZE/LOCAL_RANK (set by torchrun) and start the process group when world size > 1."""
    rank, world, local = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0)
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError(f"device '{device}' asked for but CUDA is not available")
    if use_cuda:
        torch.cuda.set_device(local % torch.cuda.device_count())
        dev = torch.device("cuda", torch.cuda.current_device())
    else:
        dev = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if use_cuda else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world,
                                device_id=dev if use_cuda else None)
    return DistInfo(rank, world, local, dev)


def cleanup_distributed() -> None:
    """Destroy the process group if one was started (end of training, also after an error)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def unwrap(net: nn.Module) -> nn.Module:
    """The bare model inside DDP (or the model itself)."""
    return net.module if isinstance(net, nn.parallel.DistributedDataParallel) else net


def all_reduce_sums(values: dict[str, tuple[float, int]], device: torch.device) -> dict[str, tuple[float, int]]:
    """Sum (total, count) pairs over ranks so that rank 0 logs the mean over all samples."""
    if not (dist.is_available() and dist.is_initialized()) or not values:
        return values
    keys = list(values)  # same insertion order on every rank
    t = torch.tensor([[values[k][0], values[k][1]] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: (float(t[i, 0]), int(t[i, 1])) for i, k in enumerate(keys)}


def parameter_digest(net: nn.Module) -> str:
    """SHA-256 of every parameter's bytes: equal digests on all ranks prove DDP kept them identical."""
    h = hashlib.sha256()
    for name, p in unwrap(net).named_parameters():
        h.update(name.encode())
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def ranks_agree(digest: str, device: torch.device) -> bool:
    """True when every rank holds the same digest (always True in a single process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return True
    mine = torch.tensor(list(bytes.fromhex(digest)), dtype=torch.uint8, device=device)
    gathered = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, mine)
    return all(torch.equal(g, gathered[0]) for g in gathered)
