"""Which device a step runs on: `cpu`, `gpu` (a CUDA device; fails clearly without one) or `auto` (the GPU when one
is present, else the CPU). Pure logic: callers say whether their library sees a GPU."""

from __future__ import annotations

from typing import Literal

Device = Literal["cpu", "gpu", "auto"]
DEVICES: tuple[str, ...] = ("cpu", "gpu", "auto")


class GpuUnavailable(RuntimeError):
    """`device: gpu` was asked for but the library that would use it sees no CUDA device."""


def resolve_device(requested: str, gpu_present: bool, what: str, gpu_supported: bool = True) -> str:
    """The device `what` runs on ("cpu" or "gpu") for the `requested` setting.

    `gpu_supported` is False when `what` has no GPU implementation (e.g. the int8 OpenVINO path): then `gpu`
    fails and `auto` picks the CPU.
    """
    if requested not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "cpu":
        return "cpu"
    if requested == "gpu":
        if not gpu_supported:
            raise GpuUnavailable(f"{what} has no GPU implementation: use device 'cpu' or 'auto'")
        if not gpu_present:
            raise GpuUnavailable(f"device 'gpu' was requested for {what} but no CUDA GPU is visible to it "
                                 "(use 'auto' to fall back to the CPU)")
        return "gpu"
    return "gpu" if gpu_present and gpu_supported else "cpu"
