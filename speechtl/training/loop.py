"""The one training loop.

AdamW with linear warm-up and cosine decay, gradient clipping, checkpoints every
``checkpoint_every`` steps (safetensors + JSON, atomic), exact resume (model,
optimizer, scheduler, step, epoch position and RNG), a progress bar with loss and
throughput (seconds of audio per second), a JSONL log and TensorBoard scalars
when tensorboard is installed. Runs as one process or under ``torchrun`` (DDP).
With ``accum_grad`` N, each step takes N batches (one process then follows the
trajectory of N processes). With ``valid_every``, the model is scored on dev
data (lower is better) and checkpointed; the best ``average_best`` checkpoints
are kept and averaged into the saved model (icefall-style), and ``patience``
stops a run that no longer improves.

Under DDP each rank's loss is weighted by its share of the global batch, so the
averaged gradient is that of the mean over the whole global batch: N processes
follow the same trajectory as one process with the same global batch. A step
whose gradient is not finite (one poisoned utterance) is skipped and counted,
and the log names the batch, instead of corrupting the weights.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from speechtl.training.config import TrainConfig
from speechtl.files import latest_checkpoint, load_model_files
from speechtl.training.checkpoint import (average_checkpoints, load_trainer_state, rng_state, save_checkpoint,
                                         set_rng_state)
from speechtl.training.distributed import DistInfo, all_gather, all_reduce_sum
from speechtl.training.objective import Objective
from speechtl.models.precision import autocast
from speechtl.training.tensorboard import open_writer, write_scalars

log = logging.getLogger(__name__)


def warmup_cosine(warmup: int, total: int, min_ratio: float) -> Callable[[int], float]:
    """LR multiplier: linear warm-up over ``warmup`` steps, cosine decay to ``min_ratio``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class Trainer:
    """Runs an :class:`Objective` over the batches of a loader.

    Args:
        objective: task + transfer methods; ``objective.model`` is what gets saved.
        loader: ``loader.epoch(epoch, start)`` yields the batches of an epoch from the
            ``start``-th on (:class:`~speechtl.data.sampler.CutBatchLoader`); a batch has
            ``len()`` and ``.to(device)``.
        cfg: training settings.
        exp_dir: checkpoints and logs go here.
        model_meta: returns the JSON metadata saved with the model weights.
        frames_per_second: input frames per second of audio, for the throughput figure
            (0 for non-audio tasks: throughput is then items per second).
        param_groups: optimizer parameter groups (e.g. slower transferred layers); by
            default every trainable parameter of the objective at ``cfg.lr``.
        dist: the distributed set-up.
        validate: ``model -> {name: value}`` on dev data, the first value lower-is-better
            (used when ``cfg.valid_every`` > 0).
    """

    def __init__(self, objective: Objective, loader: Any, cfg: TrainConfig, exp_dir: str | Path,
                 model_meta: Callable[[], dict], frames_per_second: float = 0.0,
                 param_groups: list[dict] | None = None, dist: DistInfo | None = None, progress: bool = True,
                 validate: Callable[[nn.Module], dict[str, float]] | None = None) -> None:
        self.objective = objective
        self.loader = loader
        self.cfg = cfg
        self.exp_dir = Path(exp_dir)
        self.model_meta = model_meta
        self.fps = frames_per_second
        self.dist = dist or DistInfo()
        self.progress = progress and self.dist.is_main
        self.device = self.dist.device
        self.validate = validate if cfg.valid_every > 0 else None
        objective.to(self.device)
        if param_groups is None:
            param_groups = [{"params": [p for p in objective.parameters() if p.requires_grad]}]
        self.optimizer = torch.optim.AdamW(param_groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(cfg.warmup_steps, cfg.max_steps, cfg.min_lr_ratio)
        )
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0  # batches of this epoch consumed on this rank (resume skips them)
        self.skipped_steps = 0  # updates dropped for a non-finite gradient
        self.skipped_items = 0  # utterances left out of their batch (unreadable, unknown phoneme)
        self.valid: list[list] = []  # [step, dev value] of each dev evaluation
        self._purge_step: int | None = None  # TensorBoard hides events >= this after a resume
        self.ckpt_dir = self.exp_dir / "checkpoints"
        self._writer = None
        self._forward = objective
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self._forward = nn.parallel.DistributedDataParallel(objective, device_ids=ids,
                                                                find_unused_parameters=True)

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            # batches of the one sequence all ranks draw (any world size resumes at the same place)
            "batch_in_epoch": self.batch_in_epoch * self.dist.world_size,
            "skipped_steps": self.skipped_steps,
            "skipped_items": self.skipped_items,
            "valid": self.valid,
            "rng": rng_state(),
            "objective_extra": {k: v for k, v in self.objective.state_dict().items()
                                if not k.startswith("task.model.")},
        }

    def best_steps(self) -> list[int]:
        """Steps of the ``average_best`` best dev evaluations (best first)."""
        ranked = sorted(self.valid, key=lambda r: (r[1], -r[0]))
        return [int(step) for step, _ in ranked[: max(self.cfg.average_best, 1 if self.valid else 0)]]

    def save(self) -> Path | None:
        """Write a checkpoint (rank 0); every rank must call it (their RNG states are gathered)."""
        rng_ranks = all_gather(rng_state(), self.dist)
        if not self.dist.is_main:
            return None
        state = self.state_dict()
        if self.dist.enabled:
            state["rng_ranks"] = rng_ranks
        model = self.objective.model
        path = save_checkpoint(self.ckpt_dir, self.step, model.state_dict(), self.model_meta(),
                               state, keep=self.cfg.keep_checkpoints, protect=self.best_steps())
        log.info("saved checkpoint %s", path)
        return path

    def resume(self) -> bool:
        """Restore the newest complete checkpoint; False when there is none."""
        path = latest_checkpoint(self.ckpt_dir)
        if path is None:
            return False
        state, _ = load_model_files(path / "model")
        trainer = load_trainer_state(path)
        self.objective.load_state_dict(
            {**{f"task.model.{k}": v for k, v in state.items()}, **trainer["objective_extra"]}
        )
        self.optimizer.load_state_dict(trainer["optimizer"])
        self.scheduler.load_state_dict(trainer["scheduler"])
        self.step, self.epoch = trainer["step"], trainer["epoch"]
        self.batch_in_epoch = trainer["batch_in_epoch"] // self.dist.world_size
        self.skipped_steps = trainer.get("skipped_steps", 0)
        self.skipped_items = trainer.get("skipped_items", 0)
        self.valid = [list(v) for v in trainer.get("valid", [])]
        rng, ranks = trainer["rng"], trainer.get("rng_ranks") or [trainer["rng"]]
        if len(ranks) == self.dist.world_size:
            rng = ranks[self.dist.rank]
        elif self.dist.is_main:
            log.warning("%s was written by %d process(es), this run has %d: the batches are the same, "
                        "random draws (dropout, SpecAugment) differ from an uninterrupted run",
                        path, len(ranks), self.dist.world_size)
        set_rng_state(rng)
        if self.dist.is_main:
            self._truncate_log()
        self._purge_step = self.step + 1
        log.info("resumed from %s (step %d)", path, self.step)
        return True

    def _truncate_log(self) -> None:
        """Drop log records past the resumed step (and a line cut short by a crash)."""
        path = self.exp_dir / "train_log.jsonl"
        if not path.is_file():
            return
        kept = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and record.get("step", 0) <= self.step:
                kept.append(line + "\n")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        os.replace(tmp, path)

    def final_state(self) -> dict[str, torch.Tensor]:
        """The weights to save as the model: the average of the best checkpoints on dev, or the last weights."""
        model_state = self.objective.model.state_dict()
        if not (self.cfg.average_best and self.valid):
            return model_state
        paths = [self.ckpt_dir / f"step-{step:07d}" / "model" for step in self.best_steps()]
        log.info("the model averages the %d best checkpoints on dev: %s", len(paths),
                 ", ".join(p.parent.name for p in paths))
        return average_checkpoints(paths)

    # --------------------------------------------------------------- logging
    def _log(self, record: dict, name: str = "train_log.jsonl") -> None:
        if not self.dist.is_main:
            return
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        with open(self.exp_dir / name, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self._writer is None:
            self._writer = open_writer(self.exp_dir, self._purge_step)
        if self._writer:
            write_scalars(self._writer, record, "train" if name == "train_log.jsonl" else "dev")

    # ------------------------------------------------------------------ loop
    def fit(self, resume: bool = False) -> dict:
        """Train until ``cfg.max_steps`` (or early stopping); returns the last logged record."""
        from tqdm import tqdm

        if resume and not self.resume():
            log.info("no checkpoint to resume from in %s; starting fresh", self.ckpt_dir)
        self.objective.train()
        bar = tqdm(total=self.cfg.max_steps, initial=self.step, desc="training", unit="step",
                   disable=not self.progress, dynamic_ncols=True)
        window = {"loss": 0.0, "updates": 0, "audio": 0.0, "items": 0, "start": time.perf_counter()}
        extra: dict[str, float] = {}
        last: dict = {}
        stop = False
        while self.step < self.cfg.max_steps and not stop:
            group: list = []
            batches = self.loader.epoch(self.epoch, self.batch_in_epoch)
            for batch in batches:
                group.append(batch)
                if len(group) < self.cfg.accum_grad:
                    continue
                grad_norm = self._update(group, window, extra)
                group = []
                bar.update(1)
                if self.step % self.cfg.log_every == 0 or self.step == self.cfg.max_steps:
                    last = self._flush(window, extra, grad_norm, bar)
                    extra = {}
                stop = self._after_step()
                if self.step >= self.cfg.max_steps or stop:
                    break
            else:
                if group and self.step < self.cfg.max_steps:  # the epoch's last, smaller group
                    self._update(group, window, extra)
                    bar.update(1)
                    stop = self._after_step()
                self.epoch += 1
                self.batch_in_epoch = 0
            batches.close()
        bar.close()
        return last

    def _after_step(self) -> bool:
        """Checkpoint and dev evaluation after a step; True when early stopping says stop."""
        due_valid = self.validate is not None and (self.step % self.cfg.valid_every == 0
                                                   or self.step == self.cfg.max_steps)
        if due_valid:
            self._validate()
        if due_valid or self.step % self.cfg.checkpoint_every == 0 or self.step == self.cfg.max_steps:
            self.save()
        patience = self.cfg.patience
        if self.validate is None or not patience or len(self.valid) <= patience:
            return False
        best = min(v for _, v in self.valid[:-patience])
        if all(v >= best for _, v in self.valid[-patience:]):
            log.info("early stopping at step %d: no dev improvement in %d evaluations", self.step, patience)
            return True
        return False

    @torch.no_grad()
    def _validate(self) -> None:
        model = self.objective.model
        was_training = model.training
        scores = self.validate(model) if self.dist.is_main else None
        model.train(was_training)
        scores = all_gather(scores, self.dist)[0]  # rank 0's, on every rank (early stopping agrees)
        first = next(iter(scores.values()))
        self.valid.append([self.step, float(first)])
        self._log({"step": self.step, **scores}, "valid_log.jsonl")
        log.info("step %d dev: %s", self.step, ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))

    def _update(self, group: list, window: dict, extra: dict) -> torch.Tensor:
        """One optimizer step over a group of batches (this rank's share of the global batch)."""
        for batch in group:
            self.batch_in_epoch += 1
            for uid, reason in getattr(batch, "skipped", ()):
                self.skipped_items += 1
                log.warning("skipped %s: %s", uid, reason)
        sizes = [len(b) for b in group]
        n_global = all_reduce_sum([float(sum(sizes))], self.dist)[0] if self.dist.enabled else float(sum(sizes))
        self.optimizer.zero_grad(set_to_none=True)
        if n_global == 0:  # every utterance of the step was unreadable: nothing to learn from
            self._skip_update(group, torch.tensor(float("nan")))
            self.scheduler.step()
            self.step += 1
            return torch.tensor(float("nan"))
        if 0 in sizes and self.dist.enabled:
            raise RuntimeError("a rank's batch lost all its utterances (see the warnings above); store the "
                               "features (data.feature_storage: stored) so bad audio is found before training")
        progress = self.step / max(1, self.cfg.max_steps)
        loss_sum, logs = 0.0, {}
        for i, batch in enumerate(group):
            if not len(batch):
                continue
            batch = batch.to(self.device)
            weight = len(batch) * self.dist.world_size / n_global  # the mean over the global batch
            last = i == len(group) - 1
            sync = contextlib.nullcontext() if last or not self.dist.enabled else self._forward.no_sync()
            with sync:
                with autocast(self.device, self.cfg.amp):
                    loss, out = self._forward(batch, progress)
                (loss.float() * weight).backward()
            loss_sum += float(loss.detach()) * weight
            for k, v in out.logs.items():
                logs[k] = logs.get(k, 0.0) + v * weight
            window["items"] += len(batch)
            if self.fps and hasattr(batch, "lengths"):
                window["audio"] += float(batch.lengths.sum()) / self.fps
        grad_norm = nn.utils.clip_grad_norm_(self.objective.parameters(), self.cfg.grad_clip)
        # the gradient is all-reduced, so every rank takes the same branch
        if torch.isfinite(grad_norm):
            self.optimizer.step()
            window["updates"] += 1
            window["loss"] += loss_sum
            for k, v in logs.items():
                extra[k] = extra.get(k, 0.0) + v
        else:
            self._skip_update(group, grad_norm)
        self.scheduler.step()
        self.step += 1
        return grad_norm

    def _skip_update(self, group: list, grad_norm: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.skipped_steps += 1
        ids = [i for b in group for i in getattr(b, "ids", [])]
        log.warning("step %d: gradient norm is %s; update skipped (%d so far)%s", self.step + 1,
                    float(grad_norm), self.skipped_steps,
                    f"; batch on rank {self.dist.rank}: {', '.join(map(str, ids))}" if ids else "")

    def _window_means(self, window: dict, extra: dict) -> dict[str, float]:
        """Loss and method logs averaged over the window's updates and over ranks."""
        updates = max(1, window["updates"])
        local = {"loss": window["loss"] / updates, **{k: v / updates for k, v in extra.items()}}
        gathered = all_gather(local, self.dist)  # methods may log different keys on different ranks
        keys = list(dict.fromkeys(k for g in gathered for k in g))
        means = {k: sum(g[k] for g in gathered if k in g) / sum(k in g for g in gathered) for k in keys}
        if not window["updates"]:  # every update of the window was skipped
            means["loss"] = None
        return means

    def _flush(self, window: dict, extra: dict, grad_norm: torch.Tensor, bar) -> dict:
        elapsed = time.perf_counter() - window["start"]
        means = self._window_means(window, extra)
        loss = means.pop("loss")
        record: dict[str, Any] = {
            "step": self.step, "epoch": self.epoch, "loss": loss,
            "lr": self.scheduler.get_last_lr()[0],
            "grad_norm": float(grad_norm) if torch.isfinite(grad_norm) else None,
        }
        record.update(means)
        if self.skipped_steps:
            record["skipped_steps"] = self.skipped_steps
        if self.skipped_items:
            record["skipped_items"] = self.skipped_items
        # throughput over all ranks: each rank processed its own share
        if self.fps:
            record["audio_sec_per_sec"] = window["audio"] * self.dist.world_size / max(elapsed, 1e-9)
        record["items_per_sec"] = window["items"] * self.dist.world_size / max(elapsed, 1e-9)
        self._log(record)
        speed = (f"{record['audio_sec_per_sec']:.0f}x rt" if self.fps else f"{record['items_per_sec']:.0f} it/s")
        bar.set_postfix_str(f"loss {loss if loss is None else format(loss, '.3f')} | {speed}")
        window.update(loss=0.0, updates=0, audio=0.0, items=0, start=time.perf_counter())
        return record
