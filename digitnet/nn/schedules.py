"""Learning-rate schedules: pure functions of the step (counted from 0), plus make_schedule.

make_schedule joins a linear warm-up to a named schedule; the trainer sets
optimizer.learning_rate = schedule(step) before every step.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from digitnet.errors import ConfigError

SCHEDULES = ("constant", "step", "exponential", "cosine")


def constant(step: int, lr: float) -> float:
    """lr at every step."""
    return lr


def step_decay(step: int, lr: float, drop: float, every: int) -> float:
    """lr · drop^⌊step / every⌋: multiply by `drop` every `every` steps."""
    return lr * drop ** (step // every)


def exponential(step: int, lr: float, gamma: float) -> float:
    """lr · gamma^step."""
    return lr * gamma**step


def cosine(step: int, total: int, lr: float, final_lr: float = 0.0) -> float:
    """final_lr + (lr − final_lr)·(1 + cos(π·step/total))/2: lr at 0, final_lr from total on."""
    progress = min(step, total) / total
    return final_lr + 0.5 * (lr - final_lr) * (1.0 + math.cos(math.pi * progress))


def linear_warmup(step: int, warmup: int, lr: float) -> float:
    """lr · min(1, (step + 1) / warmup): lr/warmup at step 0, the full lr at step warmup − 1."""
    return lr * min(1.0, (step + 1) / warmup)


def _number(name: str, value: float, low: float, high: float, *, low_open: bool = False) -> float:
    """`value` if it is a number in [low, high] ((low, high] if low_open), else ConfigError."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not is_number or not (low < value <= high if low_open else low <= value <= high):
        bracket = "(" if low_open else "["
        raise ConfigError(f"{name} must be in {bracket}{low}, {high}], got {value!r}")
    return value


def make_schedule(
    name: str, base_lr: float, total_steps: int, *, warmup_steps: int = 0, **kwargs: float
) -> Callable[[int], float]:
    """learning_rate(step) for steps 0 … total_steps − 1.

    Steps below warmup_steps rise linearly to base_lr (linear_warmup); the named schedule then
    runs over the remaining total_steps − warmup_steps steps, starting from base_lr (cosine
    would reach final_lr one step after the last, so no step is taken with final_lr).
    Options: "step" takes drop (default 0.1) and every (default: a third of the steps after
    warm-up, so base_lr, base_lr/10, base_lr/100); "exponential" takes gamma (default: reach
    base_lr/100 at the last step); "cosine" takes final_lr (default 0.0); "constant" none.
    Raises ConfigError for an unknown name, unknown options, or values out of range.
    """
    if name not in SCHEDULES:
        raise ConfigError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    _number("base_lr", base_lr, 0.0, math.inf, low_open=True)
    _number("total_steps", total_steps, 1, math.inf)
    _number("warmup_steps", warmup_steps, 0, total_steps)
    allowed = {"constant": set(), "step": {"drop", "every"}, "exponential": {"gamma"}}
    unknown = set(kwargs) - allowed.get(name, {"final_lr"})
    if unknown:
        raise ConfigError(f"schedule {name!r} does not take options {sorted(unknown)}")
    decay_steps = total_steps - warmup_steps

    if name == "constant":

        def after_warmup(step: int) -> float:
            return constant(step, base_lr)

    elif name == "step":
        drop = _number("drop", kwargs.get("drop", 0.1), 0.0, 1.0, low_open=True)
        every = int(
            _number("every", kwargs.get("every", max(1, math.ceil(decay_steps / 3))), 1, math.inf)
        )

        def after_warmup(step: int) -> float:
            return step_decay(step, base_lr, drop, every)

    elif name == "exponential":
        default_gamma = 0.01 ** (1 / max(decay_steps - 1, 1))
        gamma = _number("gamma", kwargs.get("gamma", default_gamma), 0.0, 1.0, low_open=True)

        def after_warmup(step: int) -> float:
            return exponential(step, base_lr, gamma)

    else:
        final_lr = _number("final_lr", kwargs.get("final_lr", 0.0), 0.0, base_lr)

        def after_warmup(step: int) -> float:
            return cosine(step, max(decay_steps, 1), base_lr, final_lr)

    def schedule(step: int) -> float:
        if step < warmup_steps:
            return linear_warmup(step, warmup_steps, base_lr)
        return after_warmup(step - warmup_steps)

    return schedule
