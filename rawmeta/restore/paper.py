"""Implicit neural functions: two-branch SIREN MLPs, many trained at once as one batched model.

Each patch has its own network (paper Fig. 3): a colour branch (sRGB ->
256 -> 256 -> 128) and a coordinate branch (xy -> 256 -> 256 -> 128), both
with sine activations, concatenated and followed by sine layers of 256 and a
linear layer to raw-RGB. The networks of ``P`` patches are held as stacked
weights of shape ``(P, in, out)`` and run with batched matrix products; the
loss is the sum over patches of each patch's own mean squared error, and
Adam acts on every element separately, so each network trains exactly as it
would alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from rawmeta.progress import stage
from rawmeta.restore.job import PatchJob
from rawmeta.restore.patches import PatchData, box_inputs, patch_data, place


@dataclass(frozen=True)
class INFConfig:
    """Network shape and training schedule of an INF preset.

    The defaults are the paper's: w0 = 30 on every sine layer, Adam with
    learning rate 1e-4 halved every 200 steps, 500 full-batch steps, MSE,
    weight decay 1e-4 (colour branch), 0.1 (coordinate branch) and 1e-3
    (output layers).
    """

    hidden: int = 256
    branch_out: int = 128
    branch_layers: int = 3
    trunk_layers: int = 3
    w0: float = 30.0
    lr: float = 1e-4
    lr_halve_every: int = 200
    steps: int = 500
    decay_colour: float = 1e-4
    decay_coords: float = 0.1
    decay_output: float = 1e-3

    def parameter_count(self) -> int:
        """Parameters of one network."""
        def branch(n_in: int) -> int:
            dims = [n_in] + [self.hidden] * (self.branch_layers - 1) + [self.branch_out]
            return sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))

        trunk_dims = [2 * self.branch_out] + [self.hidden] * self.trunk_layers
        trunk = sum((a + 1) * b for a, b in zip(trunk_dims[:-1], trunk_dims[1:]))
        return branch(3) + branch(2) + trunk + (self.hidden + 1) * 3


#: The ``paper`` preset: the paper's networks and schedule.
PAPER = INFConfig()
# Peak training memory per sample and network (float32 on CPU), with headroom; docs/RESTORE.md has the measurement.
_BYTES_PER_SAMPLE = 40 * 1024


@dataclass
class _Layer:
    weight: torch.Tensor  # (P, in, out)
    bias: torch.Tensor  # (P, 1, out)


def _init_layer(gens: list[torch.Generator], n_in: int, n_out: int, first: bool, w0: float,
                device: torch.device) -> _Layer:
    """SIREN initialisation, one generator per patch so a patch's weights do not depend on its batch."""
    bound = 1.0 / n_in if first else math.sqrt(6.0 / n_in) / w0
    bias_bound = 1.0 / math.sqrt(n_in)  # torch.nn.Linear's default bias initialisation
    w = torch.stack([(torch.rand(n_in, n_out, generator=g) * 2 - 1) * bound for g in gens])
    b = torch.stack([(torch.rand(1, n_out, generator=g) * 2 - 1) * bias_bound for g in gens])
    return _Layer(w.to(device).requires_grad_(), b.to(device).requires_grad_())


class BatchedINF:
    """``P`` independent two-branch SIREN networks with stacked weights."""

    def __init__(self, config: INFConfig, seeds: list[int], device: torch.device):
        self.config = config
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        c = config

        def branch(n_in: int) -> list[_Layer]:
            dims = [n_in] + [c.hidden] * (c.branch_layers - 1) + [c.branch_out]
            return [_init_layer(gens, a, b, k == 0, c.w0, device) for k, (a, b) in enumerate(zip(dims[:-1], dims[1:]))]

        self.colour = branch(3)
        self.coords = branch(2)
        trunk_dims = [2 * c.branch_out] + [c.hidden] * c.trunk_layers
        self.trunk = [_init_layer(gens, a, b, False, c.w0, device) for a, b in zip(trunk_dims[:-1], trunk_dims[1:])]
        self.head = _init_layer(gens, c.hidden, 3, False, c.w0, device)

    def parameter_groups(self) -> list[dict]:
        """Adam parameter groups with the per-branch weight decay."""
        def params(layers: list[_Layer]) -> list[torch.Tensor]:
            return [t for layer in layers for t in (layer.weight, layer.bias)]

        c = self.config
        return [
            {"params": params(self.colour), "weight_decay": c.decay_colour},
            {"params": params(self.coords), "weight_decay": c.decay_coords},
            {"params": params(self.trunk + [self.head]), "weight_decay": c.decay_output},
        ]

    def __call__(self, srgb: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        """raw-RGB for inputs of shape (P, N, 3) and (P, N, 2)."""
        w0 = self.config.w0

        def sine_stack(x: torch.Tensor, layers: list[_Layer]) -> torch.Tensor:
            for layer in layers:
                x = torch.sin(w0 * torch.baddbmm(layer.bias, x, layer.weight))
            return x

        h = torch.cat([sine_stack(srgb, self.colour), sine_stack(xy, self.coords)], dim=-1)
        h = sine_stack(h, self.trunk)
        return torch.baddbmm(self.head.bias, h, self.head.weight)


def train(model: BatchedINF, srgb: torch.Tensor, xy: torch.Tensor, target: torch.Tensor,
          weight: torch.Tensor, step_callback=None) -> None:
    """Fit every network to its own samples (full batch, the config's schedule).

    Parameters
    ----------
    srgb, xy, target : Tensor
        (P, N, 3), (P, N, 2) and (P, N, 3); patches with fewer than N samples
        are padded.
    weight : Tensor
        (P, N): 1 for real samples, 0 for padding.
    step_callback : callable, optional
        Called with the number of steps done after each step.
    """
    c = model.config
    opt = torch.optim.Adam(model.parameter_groups(), lr=c.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=c.lr_halve_every, gamma=0.5)
    norm = 1.0 / (3.0 * weight.sum(dim=1)).clamp(min=1.0)  # per-patch mean over real samples
    for step in range(c.steps):
        opt.zero_grad(set_to_none=True)
        err = (model(srgb, xy) - target).square().sum(dim=-1) * weight
        loss = (err.sum(dim=1) * norm).sum()
        loss.backward()
        opt.step()
        sched.step()
        if step_callback is not None:
            step_callback(step + 1)


@torch.no_grad()
def predict(model: BatchedINF, srgb: torch.Tensor, xy: torch.Tensor, chunk: int = 16384) -> torch.Tensor:
    """raw-RGB for (P, M, 3) / (P, M, 2) inputs, in chunks of ``chunk`` pixels a patch, clipped to [0, 1]."""
    out = [model(srgb[:, k : k + chunk], xy[:, k : k + chunk]) for k in range(0, srgb.shape[1], chunk)]
    return torch.cat(out, dim=1).clamp_(0.0, 1.0)


def restore(job: PatchJob, out: np.ndarray, config: INFConfig = PAPER) -> None:
    """Fill ``out``'s pixels of ``job.patches``: one network per patch, trained on its neighbourhood's samples,
    in batches of patches that fit ``job.memory_mb``."""
    stage(job.progress, "training")
    data = [patch_data(job.layout, job.grid, job.srgb, job.values, ij) for ij in job.patches]
    dev = torch.device(job.engine.device)
    total = len(data) * config.steps
    done = 0
    for batch in _batches(data, job.memory_mb):
        n = max(len(p.train_raw) for p in batch)
        weight = _padded([np.ones((len(p.train_raw), 1), np.float32) for p in batch], n, dev)[..., 0]
        model = BatchedINF(config, [_patch_seed(job.seed, p.index) for p in batch], dev)

        def on_step(step: int, base: int = done, count: int = len(batch)) -> None:
            if job.progress:
                job.progress(base + step * count, total)

        train(model, _padded([p.train_srgb for p in batch], n, dev), _padded([p.train_xy for p in batch], n, dev),
              _padded([p.train_raw for p in batch], n, dev), weight, on_step)
        done += config.steps * len(batch)
        inputs = [box_inputs(job.srgb, p.box) for p in batch]
        m = max(len(s) for s, _ in inputs)
        pred = predict(model, _padded([s for s, _ in inputs], m, dev), _padded([xy for _, xy in inputs], m, dev))
        pred = pred.cpu().numpy()
        for k, p in enumerate(batch):
            place(out, p.box, pred[k, : len(inputs[k][0])])


def _batches(data: list[PatchData], memory_mb: int) -> list[list[PatchData]]:
    """Consecutive groups of patches whose training fits the memory budget."""
    per_patch = max(len(p.train_raw) for p in data) * _BYTES_PER_SAMPLE
    size = max(1, (memory_mb * 1024 * 1024) // per_patch)
    return [data[k : k + size] for k in range(0, len(data), size)]


def _padded(arrays: list[np.ndarray], n: int, dev: torch.device) -> torch.Tensor:
    """(len(arrays), n, C): the arrays stacked, zero-padded to ``n`` rows."""
    out = np.zeros((len(arrays), n, arrays[0].shape[1]), dtype=np.float32)
    for k, a in enumerate(arrays):
        out[k, : len(a)] = a
    return torch.from_numpy(out).to(dev)


def _patch_seed(seed: int, index: tuple[int, int]) -> int:
    """A patch's initialisation seed: depends on the run's seed and the patch, not on batching."""
    return (seed * 1_000_003 + index[0] * 65_537 + index[1]) % (2**63)
