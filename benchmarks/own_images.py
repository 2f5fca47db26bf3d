"""Own-image robustness: MNIST *test* digits rendered as photos and scans, one condition at a
time (tight crops, ruled paper, coloured ink, shadows, clutter at the border, rotation, tiny and
huge images, JPEG, noise), read through the same preprocessing as `digitnet predict` files
(decode -> to_mnist -> the model).

    python benchmarks/own_images.py [--per-condition 300] [--model M] [--conditions a,b]

Writes benchmarks/results/own_images.md and .json: accuracy and refusals per condition.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

import digitnet
from digitnet.artifacts.atomic import write_text_atomically
from digitnet.data.datasets import load_mnist
from digitnet.errors import ImageError
from digitnet.images import grey_from_memory, to_mnist
from digitnet.predict import probabilities_for

RESULTS = Path(__file__).resolve().parent / "results"


def alpha_of(digit, scale, tight):
    d = digit.astype(np.float32) / 255
    if tight:
        rows = np.flatnonzero(d.max(1) > 0)
        cols = np.flatnonzero(d.max(0) > 0)
        d = d[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = d.shape
    img = Image.fromarray(d).resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(img), 0, 1)


def place(alpha, size, rng, where=None):
    H, W = size
    a = np.zeros((H, W), np.float32)
    h, w = alpha.shape
    y = (H - h) // 2 if where is None else where[0]
    x = (W - w) // 2 if where is None else where[1]
    a[y : y + h, x : x + w] = alpha
    return a


def compose(alpha, paper, ink):
    """paper: (H,W,3) or (H,W); ink: rgb tuple 0-1."""
    paper = np.atleast_3d(paper) if paper.ndim == 2 else paper
    if paper.shape[2] == 1:
        paper = np.repeat(paper, 3, 2)
    ink = np.asarray(ink, np.float32)
    return paper * (1 - alpha[..., None]) + ink * alpha[..., None]


def to_image(rgb, rng, noise=0.015):
    rgb = rgb + rng.normal(0, noise, rgb.shape)
    return Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8))


def wood(h, w, rng):
    ys, xs = np.mgrid[0:h, 0:w]
    grain = 0.06 * np.sin(ys / 3.0 + 2 * np.sin(xs / 40)) + rng.normal(0, 0.02, (h, w))
    base = np.array([0.45, 0.30, 0.18])
    return np.clip(base[None, None] + grain[..., None], 0, 1)


PAPER = np.array([0.93, 0.92, 0.89])
BLACK = (0.12, 0.12, 0.15)


def render(cond, digit, rng):
    S = 280
    if cond == "margin":
        a = place(alpha_of(digit, 10, False), (S, S), rng)
        return to_image(compose(a, np.ones((S, S, 3)) * PAPER, BLACK), rng)
    if cond == "tight":
        a = alpha_of(digit, 10, True)
        h, w = a.shape
        return to_image(compose(a, np.ones((h, w, 3)) * PAPER, BLACK), rng)
    if cond == "tight_light":
        a = alpha_of(digit, 10, True)
        h, w = a.shape
        return to_image(compose(a, np.zeros((h, w, 3)) + 0.05, (0.95, 0.95, 0.95)), rng)
    if cond == "light_on_dark":
        a = place(alpha_of(digit, 10, False), (S, S), rng)
        return to_image(compose(a, np.zeros((S, S, 3)) + 0.08, (0.9, 0.9, 0.9)), rng)
    if cond == "fills_frame":
        a = alpha_of(digit, 10, True)
        h, w = a.shape
        m = 6
        a = np.pad(a, m)
        return to_image(compose(a, np.ones(a.shape + (3,)) * PAPER, BLACK), rng)
    a = place(alpha_of(digit, 8, False), (S, S), rng)
    paper = np.ones((S, S, 3)) * PAPER
    ink = BLACK
    if cond == "table_strip":
        side = rng.integers(4)
        rows, cols = np.flatnonzero(a.max(1) > 0), np.flatnonzero(a.max(0) > 0)
        room = [cols[0], S - 1 - cols[-1], rows[0], S - 1 - rows[-1]][side]  # paper beside ink
        width = min(int(S * rng.uniform(0.1, 0.2)), room - 4)  # the ink lies on the paper
        mask = np.zeros((S, S), bool)
        region = [
            (slice(None), slice(0, width)),
            (slice(None), slice(S - width, S)),
            (slice(0, width), slice(None)),
            (slice(S - width, S), slice(None)),
        ][side]
        mask[region] = True
        paper[mask] = wood(S, S, rng)[mask]
    elif cond == "thumb_shadow":
        ys, xs = np.mgrid[0:S, 0:S]
        cy, cx = [(0, 0), (0, S), (S, 0), (S, S)][rng.integers(4)]
        r = np.hypot((ys - cy) / 1.0, (xs - cx) / 0.8)
        shade = np.clip((r - 60) / 25, 0, 1) * 0.6 + 0.4
        paper = paper * shade[..., None]
    elif cond == "dark_table":
        paper = wood(S, S, rng) * 0.6
        sh, sw = int(S * 0.8), int(S * 0.75)  # 60% of the frame
        y0, x0 = rng.integers(0, S - sh + 1), rng.integers(0, S - sw + 1)
        paper[y0 : y0 + sh, x0 : x0 + sw] = PAPER
        a = place(
            alpha_of(digit, 7, False), (S, S), rng, (y0 + (sh - 196) // 2, x0 + (sw - 196) // 2)
        )
    elif cond in ("ruled", "squared", "dotted"):
        blue = np.array([0.55, 0.65, 0.9])
        step = 28
        off = rng.integers(step)
        if cond == "ruled":
            for y in range(off, S, step):
                paper[y : y + 2] = blue
            paper[:, 40:42] = (0.9, 0.4, 0.4)
        elif cond == "squared":
            for y in range(off, S, step // 2):
                paper[y : y + 1] = blue
            for x in range(off, S, step // 2):
                paper[:, x : x + 1] = blue
        else:
            for y in range(off, S, step // 2):
                for x in range(off, S, step // 2):
                    paper[y : y + 2, x : x + 2] = blue * 0.9
    elif cond == "diag_shadow":
        ys, xs = np.mgrid[0:S, 0:S]
        t = rng.uniform(-0.3, 0.3) * S
        side = (ys - xs * rng.uniform(0.5, 2) - t) > 0
        paper = paper * np.where(side, 0.5, 1.0)[..., None]
        rgb = compose(a, paper, ink) * np.where(side, 0.5, 1.0)[..., None] ** 0  # shadow on ink too
        rgb = (
            paper * (1 - a[..., None])
            + np.asarray(ink) * np.where(side, 0.5, 1)[..., None] * a[..., None]
        )
        return to_image(rgb, rng)
    elif cond == "blue_ink":
        ink = (0.1, 0.2, 0.65)
    elif cond == "red_ink":
        ink = (0.8, 0.15, 0.15)
    elif cond == "pencil":
        ink = (0.55, 0.55, 0.57)
        a = a * rng.uniform(0.7, 1, a.shape).astype(np.float32)
    elif cond == "uneven_light":
        ys, xs = np.mgrid[0:S, 0:S]
        g = 0.45 + 0.55 * (xs / S * 0.7 + ys / S * 0.3)
        return to_image(compose(a, paper, ink) * g[..., None], rng)
    elif cond == "low_contrast":
        paper = paper * 0.75
        ink = (0.55, 0.55, 0.55)
    elif cond == "jpeg":
        img = to_image(compose(a, paper, ink), rng)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=25)
        return Image.open(io.BytesIO(buf.getvalue()))
    elif cond == "noise":
        return to_image(compose(a, paper, ink), rng, noise=0.12)
    elif cond == "rotated":
        img = to_image(compose(a, paper, ink), rng)
        angle = rng.choice([-1, 1]) * rng.uniform(8, 15)
        return img.rotate(
            angle, Image.Resampling.BILINEAR, fillcolor=tuple(int(255 * v) for v in PAPER)
        )
    elif cond == "tiny":
        img = to_image(compose(a, paper, ink), rng)
        return img.resize((20, 20), Image.Resampling.BOX)
    elif cond == "huge":
        img = to_image(compose(a, paper, ink), rng, noise=0)
        return img.resize((4000, 4000), Image.Resampling.BILINEAR)
    return to_image(compose(a, paper, ink), rng)


CONDS = [
    "margin",
    "tight",
    "tight_light",
    "light_on_dark",
    "fills_frame",
    "table_strip",
    "thumb_shadow",
    "dark_table",
    "ruled",
    "squared",
    "dotted",
    "diag_shadow",
    "blue_ink",
    "red_ink",
    "pencil",
    "uneven_light",
    "low_contrast",
    "jpeg",
    "noise",
    "rotated",
    "tiny",
    "huge",
]


def measure(net: digitnet.Network, condition: str, images: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy and refusals of one condition; a refused image counts as wrong."""
    rng = np.random.default_rng(7)
    inputs, reasons = [], {}
    for digit in images:
        try:
            inputs.append(to_mnist(grey_from_memory(render(condition, digit, rng))))
        except ImageError as error:
            inputs.append(None)
            reasons[str(error)] = reasons.get(str(error), 0) + 1
    kept = [i for i, x in enumerate(inputs) if x is not None]
    predicted = np.full(len(images), -1)
    if kept:
        stacked = np.stack([inputs[i] for i in kept])
        predicted[kept] = probabilities_for(net.model, stacked).argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    return {
        "condition": condition,
        "n": len(images),
        "accuracy": float((predicted == labels).mean()),
        "refused": len(images) - len(kept),
        "refusals": reasons,
        "wrong_test_indices": wrong.tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-condition", type=int, default=300)
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--conditions", default=",".join(CONDS))
    args = parser.parse_args()
    net = digitnet.load(args.model)
    data = load_mnist()
    images = data.test_images[: args.per_condition]
    labels = data.test_labels[: args.per_condition]
    rows = []
    for condition in args.conditions.split(","):
        started = time.perf_counter()
        row = measure(net, condition, images, labels)
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
        print(
            f"{condition:14s} {100 * row['accuracy']:6.2f}%  refused {row['refused']}", flush=True
        )
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    model = args.model or "bundled default (" + str(net.meta.get("preset")) + ")"
    command = "python benchmarks/own_images.py --per-condition " + str(args.per_condition)
    machine = f"{platform.processor() or platform.machine()}, NumPy {np.__version__}"
    lines = [
        f"Measured {when} on {machine}, model {model}, by `{command}`: the first "
        f"{args.per_condition} MNIST test digits in each condition; a refusal counts as wrong.",
        "",
        "| condition | n | accuracy | refused |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['condition']} | {r['n']} | {100 * r['accuracy']:.2f}% | {r['refused']} |"
        for r in rows
    ]
    RESULTS.mkdir(exist_ok=True)
    write_text_atomically(RESULTS / "own_images.md", "\n".join(lines) + "\n")
    record = {
        "measured": when,
        "machine": machine,
        "model": model,
        "command": command,
        "rows": rows,
    }
    write_text_atomically(RESULTS / "own_images.json", json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
