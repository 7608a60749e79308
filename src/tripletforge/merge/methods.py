"""Merge methods on parameter dictionaries (name → tensor) of models of one architecture.

Only floating-point tensors are merged; integer buffers (e.g. ``position_ids``) are taken
from the first model. Every method returns a new dictionary and leaves its inputs untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

StateDict = dict[str, torch.Tensor]


def _merge_each(states: Sequence[StateDict], combine: Callable[..., torch.Tensor]) -> StateDict:
    first = states[0]
    merged: StateDict = {}
    for name, tensor in first.items():
        if tensor.is_floating_point():
            merged[name] = combine(*(state[name] for state in states)).to(tensor.dtype)
        else:
            merged[name] = tensor.clone()
    return merged


def linear(base: StateDict, other: StateDict, alpha: float) -> StateDict:
    """WiSE-FT interpolation ``(1 − α)·base + α·other``; α = 0 and α = 1 give the endpoints."""

    def combine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if alpha == 0.0 or torch.equal(a, b):  # equal tensors (frozen parts) stay bitwise equal
            return a.clone()
        if alpha == 1.0:
            return b.clone()
        return (1.0 - alpha) * a.float() + alpha * b.float()

    return _merge_each([base, other], combine)


def weighted_average(
    states: Sequence[StateDict], weights: Sequence[float] | None = None
) -> StateDict:
    """Model soup: the (weighted) mean of several models' parameters."""
    weights = list(weights) if weights is not None else [1.0] * len(states)
    if len(weights) != len(states):
        raise ValueError(f"{len(states)} models but {len(weights)} weights")
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("merge weights must sum to a positive number")

    def combine(*tensors: torch.Tensor) -> torch.Tensor:
        return sum(w / total * t.float() for w, t in zip(weights, tensors, strict=True))

    return _merge_each(states, combine)


def slerp(first: StateDict, second: StateDict, t: float, eps: float = 1e-8) -> StateDict:
    """Spherical interpolation per tensor; falls back to linear for nearly parallel tensors."""

    def combine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if t == 0.0:
            return a.clone()
        if t == 1.0:
            return b.clone()
        va, vb = a.float().flatten(), b.float().flatten()
        na, nb = va.norm(), vb.norm()
        if na < eps or nb < eps:
            return (1 - t) * a.float() + t * b.float()
        cos = torch.clamp(torch.dot(va / na, vb / nb), -1.0, 1.0)
        omega = torch.arccos(cos)
        if omega.abs() < 1e-4:
            return (1 - t) * a.float() + t * b.float()
        sin = torch.sin(omega)
        out = (torch.sin((1 - t) * omega) / sin) * va + (torch.sin(t * omega) / sin) * vb
        return out.view_as(a)

    return _merge_each([first, second], combine)


def task_arithmetic(
    base: StateDict,
    models: Sequence[StateDict],
    weights: Sequence[float] | None = None,
    scale: float = 1.0,
) -> StateDict:
    """``base + scale·Σ wᵢ(θᵢ − base)`` (Ilharco et al., 2023)."""
    weights = list(weights) if weights is not None else [1.0 / len(models)] * len(models)

    def combine(b: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        delta = sum(w * (t.float() - b.float()) for w, t in zip(weights, tensors, strict=True))
        return b.float() + scale * delta

    return _merge_each([base, *models], combine)


def ties(
    base: StateDict,
    models: Sequence[StateDict],
    density: float = 0.2,
    scale: float = 1.0,
) -> StateDict:
    """TIES-merging (Yadav et al., 2023): trim to the top ``density`` of each task vector by
    magnitude, elect a sign per parameter, average the deltas that agree with it."""
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1], got {density}")

    def trim(delta: torch.Tensor) -> torch.Tensor:
        k = max(1, round(density * delta.numel()))
        if k >= delta.numel():
            return delta
        threshold = delta.abs().flatten().kthvalue(delta.numel() - k + 1).values
        return torch.where(delta.abs() >= threshold, delta, torch.zeros_like(delta))

    def combine(b: torch.Tensor, *tensors: torch.Tensor) -> torch.Tensor:
        deltas = torch.stack([trim(t.float() - b.float()) for t in tensors])
        sign = torch.sign(deltas.sum(dim=0))
        agree = (torch.sign(deltas) == sign) & (deltas != 0)
        counts = agree.sum(dim=0).clamp(min=1)
        merged = (deltas * agree).sum(dim=0) / counts
        return b.float() + scale * merged

    return _merge_each([base, *models], combine)


MERGE_METHODS = ("linear", "average", "slerp", "task_arithmetic", "ties")
