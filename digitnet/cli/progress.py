"""Training progress on stderr: a tqdm bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from digitnet.training.trainer import TrainEvent


class ProgressPrinter:
    """Receives TrainEvents; prints the cost every log_every steps and a line per epoch.

    On a terminal a progress bar shows the steps; when stderr is a file or a pipe (CI logs)
    only the periodic lines are written, so logs stay readable.
    """

    def __init__(
        self,
        total_steps: int,
        *,
        steps_per_epoch: int = 1,
        log_every: int = 100,
        stream: TextIO | None = None,
        quiet: bool = False,
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.bar = None
        if not quiet and self.stream.isatty():
            from tqdm import tqdm  # only for a terminal: every command imports this module

            self.bar = tqdm(
                total=total_steps, unit="step", file=self.stream, dynamic_ncols=True, leave=False
            )
        # with tiny epochs (full-batch descent: one step each) print an epoch every log_every steps
        self.epoch_every = max(1, log_every // max(1, steps_per_epoch))
        self.total_steps = total_steps

    def __call__(self, event: TrainEvent) -> None:
        if self.quiet:
            return
        if event.kind == "step":
            if self.bar is not None:
                self.bar.update(event.step - self.bar.n)
                self.bar.set_postfix(cost=f"{event.loss:.4f}", refresh=False)
            return
        if event.kind == "log" and self.epoch_every == 1:
            self._write(f"step {event.step}/{event.total_steps}  cost {event.loss:.4f}")
        elif event.kind == "epoch" and event.record is not None:
            is_last = event.step >= event.total_steps
            if event.epoch % self.epoch_every == 0 or event.epoch == 1 or is_last:
                self._write(self._epoch_line(event.record))

    def _epoch_line(self, record: dict) -> str:
        parts = [f"epoch {record['epoch']}", f"train cost {record['train_loss']:.4f}"]
        if "val_loss" in record:
            parts.append(f"val cost {record['val_loss']:.4f}")
            parts.append(f"val accuracy {100 * record['val_accuracy']:.2f}%")
        parts.append(f"lr {record['learning_rate']:.3g}")
        parts.append(f"{record['seconds']:.1f}s")
        return "  ".join(parts)

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
