"""Schedules: formulas at step 0, at the end of warm-up and at the last step; validation."""

from __future__ import annotations

import math

import pytest

from digitnet.errors import ConfigError
from digitnet.nn import (
    SCHEDULES,
    constant,
    cosine,
    exponential,
    linear_warmup,
    make_schedule,
    step_decay,
)


def test_pure_schedule_functions():
    assert constant(123, 0.1) == 0.1
    assert [step_decay(s, 1.0, 0.5, 10) for s in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    assert exponential(3, 2.0, 0.5) == pytest.approx(0.25)
    assert cosine(0, 100, 1.0, 0.1) == pytest.approx(1.0)
    assert cosine(50, 100, 1.0, 0.1) == pytest.approx(0.55)
    assert cosine(100, 100, 1.0, 0.1) == pytest.approx(0.1)
    assert cosine(500, 100, 1.0, 0.1) == pytest.approx(0.1)  # stays at final_lr past the end
    assert [linear_warmup(s, 4, 1.0) for s in (0, 3, 10)] == [0.25, 1.0, 1.0]


@pytest.mark.parametrize(
    ("name", "kwargs", "last"),
    [
        ("constant", {}, 0.1),
        ("step", {"every": 30, "drop": 0.5}, 0.1 * 0.5**2),  # 89 steps after warm-up: 2 drops
        ("exponential", {"gamma": 0.99}, 0.1 * 0.99**89),
        ("cosine", {"final_lr": 0.01}, 0.01 + 0.045 * (1 + math.cos(math.pi * 89 / 90))),
    ],
)
def test_make_schedule_at_start_warmup_end_and_last_step(name, kwargs, last):
    schedule = make_schedule(name, 0.1, 100, warmup_steps=10, **kwargs)
    assert schedule(0) == pytest.approx(0.01)  # warm-up: base_lr · 1/10
    assert schedule(9) == pytest.approx(0.1)  # last warm-up step reaches base_lr
    assert schedule(10) == pytest.approx(0.1)  # the schedule starts from base_lr
    assert schedule(99) == pytest.approx(last)


def test_step_and_exponential_defaults_reach_a_hundredth_of_base_lr():
    step = make_schedule("step", 1.0, 90)
    assert [step(s) for s in (0, 29, 30, 60, 89)] == pytest.approx([1, 1, 0.1, 0.01, 0.01])
    exponential_schedule = make_schedule("exponential", 1.0, 91, warmup_steps=10)
    assert exponential_schedule(10) == 1.0
    assert exponential_schedule(90) == pytest.approx(0.01)


def test_cosine_without_warmup_decays_over_all_steps():
    schedule = make_schedule("cosine", 1.0, 10)
    assert schedule(0) == 1.0
    assert 0 < schedule(9) < 0.03  # last step: small but not zero
    assert all(schedule(s) > schedule(s + 1) for s in range(9))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("linear", {}),
        ("step", {"every": 0}),
        ("exponential", {"gamma": 1.5}),
        ("constant", {"gamma": 0.5}),
        ("cosine", {"final_lr": 1.0}),
        ("cosine", {"warmup_steps": 200}),
    ],
)
def test_bad_schedules_are_refused(name, kwargs):
    with pytest.raises(ConfigError):
        make_schedule(name, 0.1, 100, **kwargs)


def test_bad_base_lr_and_total_steps_are_refused():
    with pytest.raises(ConfigError, match="base_lr"):
        make_schedule("constant", -0.1, 100)
    with pytest.raises(ConfigError, match="total_steps"):
        make_schedule("constant", 0.1, 0)
    assert set(SCHEDULES) == {"constant", "step", "exponential", "cosine"}
