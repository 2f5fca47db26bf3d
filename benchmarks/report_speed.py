"""The markdown tables of benchmarks/speed.py's report (speed.md and the README's copy)."""

from __future__ import annotations

import statistics

FRAMEWORKS = ("digitnet", "PyTorch", "scikit-learn", "plain loop")
REFERENCES = (("plain loop", "plain"), ("PyTorch", "PyTorch"), ("scikit-learn", None))


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x"


def _limit_share(rates: dict) -> str:
    """The median (best) share of the matmul limit measured beside each repeat."""
    return f"{100 * rates['limit_share_median']:.0f}% ({100 * rates['limit_share_best']:.0f}%)"


def _training_table(report: dict) -> list[str]:
    lines = [
        "| workload | framework | images/s (median) | images/s (best) | s / epoch "
        "| GFLOP/s | % of matmul limit (best) | digitnet / this |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["training"]:
        ours = row["frameworks"]["digitnet"]["median_per_s"]
        for framework in FRAMEWORKS:
            rates = row["frameworks"].get(framework)
            if rates is None:
                continue
            gflops = rates.get("gflops")
            flops_cells = "- | -"
            if gflops is not None:
                flops_cells = f"{gflops:.1f} | {_limit_share(rates)}"
            ratio = "" if framework == "digitnet" else _ratio(ours, rates["median_per_s"])
            lines.append(
                f"| {row['workload']} | {framework} | {rates['median_per_s']:,.0f} "
                f"| {rates['best_per_s']:,.0f} | {rates['epoch_seconds']:.2f} | {flops_cells} "
                f"| {ratio} |"
            )
    return lines


def ratio_table(report: dict) -> list[str]:
    """One row per workload: digitnet's speed over each reference's, medians of one run (the
    small networks by time per step, the rest by images per second); "-" where not run."""
    lines = [
        "| workload | digitnet / plain NumPy loop | digitnet / PyTorch | digitnet / scikit-learn |",
        "|---|---|---|---|",
    ]
    for row in report.get("small", []):
        cells = []
        for _, small_name in REFERENCES:
            ratio = row["digitnet_over"].get(small_name) if small_name else None
            cells.append("-" if ratio is None else f"{ratio:.2f}x")
        lines.append(f"| {row['workload']} | {' | '.join(cells)} |")
    for row in report["training"]:
        ours = row["frameworks"]["digitnet"]["median_per_s"]
        cells = []
        for framework, _ in REFERENCES:
            rates = row["frameworks"].get(framework)
            cells.append("-" if rates is None else _ratio(ours, rates["median_per_s"]))
        lines.append(f"| {row['workload']}, batch {report['batch']} | {' | '.join(cells)} |")
    return lines


def _small_table(rows: list[dict]) -> list[str]:
    lines = [
        "| workload | steps | digitnet µs/step | plain loop µs/step | PyTorch µs/step "
        "| final cost (digitnet / plain / PyTorch) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        steps, cost = row["us_per_step"], row["final_cost"]
        lines.append(
            f"| {row['workload']} | {row['steps']:,} | {steps['digitnet']} | {steps['plain']} "
            f"| {steps['PyTorch']} | {cost['digitnet']} / {cost['plain']} / {cost['PyTorch']} |"
        )
    return lines


def _race_table(race: dict) -> list[str]:
    lines = [
        f"Time to {100 * race['target']:.0f}% test accuracy, `{race['preset']}` preset "
        "(784-512-256-10, Adam, warm-up + cosine, batch 128), same initial weights and batch "
        "order in both, on the same images deskewed once beforehand (the preset's Deskew "
        "layer); evaluation time excluded:",
        "",
        "| framework | seconds | epochs | test accuracy per epoch |",
        "|---|---|---|---|",
    ]
    for framework in ("digitnet", "PyTorch"):
        result = race[framework]
        seconds = result["seconds_to_target"]
        accuracies = ", ".join(f"{100 * e['accuracy']:.2f}%" for e in result["epochs"])
        lines.append(
            f"| {framework} | {'not reached' if seconds is None else f'{seconds:.1f}'} "
            f"| {result['epochs_to_target'] or '-'} | {accuracies} |"
        )
    return lines


def _inference_table(inference: dict) -> list[str]:
    lines = [
        "| framework | 1 image, ms (min / median) | 1 photo incl. preprocessing, ms "
        "(min / median) | 10,000 images, images/s (best / median) |",
        "|---|---|---|---|",
    ]
    for framework, row in inference.items():
        lines.append(
            f"| {framework} | {row['latency_ms_min']:.3f} / {row['latency_ms_median']:.3f} "
            f"| {row['latency_with_preprocessing_ms_min']:.2f} / "
            f"{row['latency_with_preprocessing_ms_median']:.2f} "
            f"| {row['batch_images_per_s_best']:,.0f} / {row['batch_images_per_s_median']:,.0f} |"
        )
    return lines


def _scaling_table(rows: list[dict]) -> list[str]:
    lines = [
        "| varied | network | batch | digitnet ms / step | PyTorch ms / step "
        "| digitnet / PyTorch | digitnet step memory (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['axis']} = {row['value']} | {row['network']} | {row['batch']} "
            f"| {row['digitnet_ms']:.3f} | {row['torch_ms']:.3f} "
            f"| {_ratio(row['torch_ms'], row['digitnet_ms'])} | {row['digitnet_step_mb']:.1f} |"
        )
    return lines


def _alongside_line(along: dict) -> str:
    """digitnet's share of the limit measured alongside its training (alongside.py)."""
    return (
        f"digitnet's {along['network']} against the limit measured alongside it, chunk by "
        f"chunk ({along['chunk_batches']} minibatches between 1024x1024 products, each chunk "
        f"against the faster neighbour x {along['probe_scale']:.2f}, the run's 2048x2048 over "
        f"1024x1024 ratio; digitnet alone, as PyTorch's threads would contend with NumPy's at "
        f"every switch): **{100 * along['share_median']:.0f}%** median, "
        f"{100 * along['share_best']:.0f}% best over {len(along['seconds'])} passes of "
        f"{along['images']:,} images "
        f"({statistics.median(along['gflops']):.1f} GFLOP/s median)."
    )


def speed_markdown(report: dict) -> str:
    machine, matmul = report["machine"], report["matmul"]
    lines = [
        f"Measured {machine['date']} on {machine['cpu']} ({machine['cores']} cores) by "
        f"`{report['command']}`: NumPy {machine['numpy']} (BLAS: {machine['blas_threads']} "
        f"threads), PyTorch {machine['torch']} (CPU, {machine['torch_threads']} threads), "
        f"scikit-learn {machine['sklearn']}. "
        "Ratios > 1x mean digitnet is faster; medians of the repeats.",
        "",
        *ratio_table(report),
        "",
        "NumPy float32 matrix product: "
        + ", ".join(
            f"{n}x{n}: {row['best_gflops']:.1f} GFLOP/s best, {row['median_gflops']:.1f} median"
            for n, row in matmul["sizes"].items()
        )
        + f"; the limit is {matmul['limit_gflops']:.1f} GFLOP/s. An MLP's % of the limit is "
        "its GFLOP/s (forward and backward products) over the best of the 1024x1024 and "
        "2048x2048 products timed just before and after each repeat, median (best) over the "
        "repeats: the machine's speed drifts within a run.",
        "",
        f"Training, minibatch {report['batch']}, SGD with momentum 0.9, softmax cross-entropy; "
        f"MLPs timed over {report['training'][0]['images_timed']:,} images per repeat, the CNN "
        f"over {report['training'][-1]['images_timed']:,} (s / epoch scales to 60,000):",
        "",
        *_training_table(report),
    ]
    if "alongside" in report:
        lines += ["", _alongside_line(report["alongside"])]
    if "race" in report:
        lines += ["", *_race_table(report["race"])]
    if "inference" in report:
        lines += [
            "",
            "Inference with the networks just trained (without the Deskew layer, in both):",
            "",
        ]
        lines += _inference_table(report["inference"])
    if "small" in report:
        lines += [
            "",
            "Small networks, as their seeds train them (plain SGD; seed000 on one sample per "
            "step, seed003 on all 60,000 at once), from the same weights in all three:",
            "",
            *_small_table(report["small"]),
        ]
    if "scaling" in report:
        lines += ["", "Scaling (plot: benchmarks/results/scaling.png):", ""]
        lines += _scaling_table(report["scaling"])
    return "\n".join(lines) + "\n"
