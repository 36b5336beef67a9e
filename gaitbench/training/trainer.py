"""The training loop, top to bottom: `train` wires a run, `Trainer.step` is one iteration.

    store + partition -> P x K batches (one per iteration, a function of seed and iteration)
    -> model -> GaitLoss (triplet on features, CE on logits) -> optimiser, LR schedule
    -> hooks: metrics.jsonl + progress, checkpoints, periodic evaluation

Exact resume: a batch depends only on (seed, iteration) and the checkpoint holds the model,
optimiser, scheduler, scaler and every RNG, so a run killed anywhere and resumed from its last
checkpoint ends with the weights of an uninterrupted run (bit for bit on the CPU).

What comes before a run (options, the checks of store and model, the run folder's lock) is
`gaitbench.training.launch` and `gaitbench.training.run_folder`.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import gaitbench
from gaitbench.device import resolve_device
from gaitbench.errors import GaitbenchError
from gaitbench.models.base import check_frame_size
from gaitbench.training import checkpoint as ckpt_io
from gaitbench.training import distributed as D
from gaitbench.training import run_folder
from gaitbench.training.config import Recipe
from gaitbench.training.hooks import (
    CheckpointHook,
    EvalHook,
    Hook,
    MetricsHook,
    TensorBoardHook,
    append_jsonl,
)
from gaitbench.training.losses import GaitLoss
from gaitbench.training.precision import (
    autocast_dtype,
    checkpoint_precision,
    resolve_precision,
    to_channels_last,
)
from gaitbench.training.runinfo import RunInfoHook


@dataclass
class TrainResult:
    run_dir: Path
    iteration: int
    checkpoint: Path | None
    """The newest checkpoint written (None if the run saved none)."""
    interrupted: bool = False
    resumed_from: Path | None = None
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    """Corrupt checkpoints passed over on resume, with the reason."""
    logs: list[dict[str, float]] = field(default_factory=list)
    """Every logged interval (also in metrics.jsonl)."""
    num_classes: int = 0


class _StopRequest:
    """Ctrl-C sets a flag the loop checks between steps, so the checkpoint it saves is never
    of a half-applied optimiser step; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


MAX_SKIPS_IN_A_ROW = 100
"""fp16 steps the scaler may skip one after another before the run stops (each halves its scale)."""


class Trainer:
    """Holds the parts of a run and steps them; hooks do logging, saving and evaluation."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: GaitLoss,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        scaler: torch.amp.GradScaler,
        recipe: Recipe,
        run_dir: Path,
        dist: D.DistInfo,
        device: torch.device,
        amp_dtype: torch.dtype | None,
        hooks: list[Hook],
        start_iteration: int = 0,
        sampler_state: dict[str, Any] | None = None,
        start_batch: int | None = None,
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.scaler = scaler
        self.recipe = recipe
        self.run_dir = run_dir
        self.dist = dist
        self.device = device
        self.amp_dtype = amp_dtype
        self.hooks = hooks
        self.iteration = start_iteration
        self.batches = start_iteration if start_batch is None else start_batch
        """Batches drawn so far: the iterations plus the fp16 steps the scaler skipped."""
        self.skipped = False
        """Whether the last step's update was skipped (fp16 overflow)."""
        self._skipped_steps = 0
        self._skips_in_a_row = 0
        self.sampler_state = sampler_state or {}
        self.last_saved: int | None = None
        self.last_checkpoint: Path | None = None
        self.finished = False
        self.logs: list[dict[str, float]] = []
        self._sums: dict[str, torch.Tensor] = {}
        self._finite = torch.ones((), dtype=torch.bool, device=device)
        self._interval_start = time.perf_counter()
        self._interval_wait = 0.0
        self._interval_steps = 0

    @property
    def bare_model(self) -> nn.Module:
        """The model without DDP / compile wrappers (what checkpoints and evaluation see)."""
        model = self.model
        model = getattr(model, "_orig_mod", model)
        return getattr(model, "module", model)

    # -- one iteration ------------------------------------------------------------------------
    def step(
        self, sils: torch.Tensor, labels: torch.Tensor, seq_lens: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Forward, loss, backward, optimiser and LR step on one batch. sils uint8 [n, s, H, W];
        seq_lens [n]: frames per clip of a padded batch (the unfixed samplers)."""
        sils = sils.to(self.device, non_blocking=True).float().div_(255.0)
        labels = labels.to(self.device, non_blocking=True)
        autocast = (
            torch.autocast(self.device.type, dtype=self.amp_dtype)
            if self.amp_dtype is not None
            else nullcontext()
        )
        with autocast:
            out = self.model(sils) if seq_lens is None else self.model(sils, seq_lens)
        features = out.features if out.features is not None else out.embeddings
        gathered = None
        if self.dist.enabled and self.loss_fn.triplet_weight > 0:
            gathered = (
                D.gather_with_grad(features.float(), self.dist),
                D.gather_plain(labels, self.dist),
            )
        loss, terms = self.loss_fn(features, labels, out.logits, gathered)
        self.optimise(loss)
        return terms

    def optimise(self, loss: torch.Tensor) -> None:
        """Backward and optimiser step. When the fp16 scaler skips the update (an overflowed
        gradient; it lowers its scale instead), the LR schedule does not step either and
        `skipped` is set, so `fit` does not count the iteration: OpenGait's rule (FACTS 2.5)."""
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        scale = self.scaler.get_scale() if self.scaler.is_enabled() else None
        self.scaler.step(self.optimizer)
        self.scaler.update()
        # The scaler lowers its scale exactly when it found an inf / NaN gradient and skipped.
        self.skipped = scale is not None and self.scaler.get_scale() < scale
        if not self.skipped:
            self.scheduler.step()

    # -- bookkeeping ------------------------------------------------------------------------
    def _accumulate(self, terms: dict[str, torch.Tensor], wait: float) -> None:
        self._finite &= torch.isfinite(terms["loss"])
        for key, value in terms.items():
            self._sums[key] = self._sums.get(key, 0.0) + value.float()
        self._interval_wait += wait
        self._interval_steps += 1

    def check_finite(self) -> None:
        """Stop (all ranks together) if any loss since the last check was NaN or infinite."""
        ok = D.all_agree(bool(self._finite.item()), self.dist, self.device)
        if ok:
            return
        if self.dist.is_main:
            append_jsonl(
                self.run_dir / "metrics.jsonl", {"iteration": self.iteration, "event": "nan"}
            )
        kept = (
            f"the last good checkpoint is {self.last_checkpoint}"
            if self.last_checkpoint
            else ("no checkpoint was saved before it")
        )
        raise GaitbenchError(
            f"loss became NaN or infinite by iteration {self.iteration}; stopped, {kept}: "
            "lower the learning rate (--set optimizer.lr=...) and resume with --resume"
        )

    def _count_skip(self) -> bool:
        """True when the last step was skipped: it is not an iteration (OpenGait does not count
        it), and a run whose every fp16 step overflows stops instead of looping for ever."""
        if not self.skipped:
            self._skips_in_a_row = 0
            return False
        self._skipped_steps += 1
        self._skips_in_a_row += 1
        if self._skips_in_a_row >= MAX_SKIPS_IN_A_ROW:
            raise GaitbenchError(
                f"the fp16 loss scaler skipped {self._skips_in_a_row} steps in a row at "
                f"iteration {self.iteration} (every gradient overflowed): lower the learning "
                "rate (--set optimizer.lr=...) or train in bf16 (--set train.amp_dtype=bf16)"
            )
        return True

    def _flush_log(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self._interval_start
        n = max(self._interval_steps, 1)
        log = {k: float(v) / n for k, v in self._sums.items()}
        log["lr"] = self.optimizer.param_groups[0]["lr"]
        log["it_per_s"] = n / elapsed if elapsed > 0 else math.inf
        log["data_wait"] = self._interval_wait / elapsed if elapsed > 0 else 0.0
        log["skipped_steps"] = self._skipped_steps
        self._sums, self._interval_wait, self._interval_steps = {}, 0.0, 0
        self._skipped_steps = 0
        self._interval_start = time.perf_counter()
        self.logs.append(log)
        return log

    def state_dict(self) -> dict[str, Any]:
        model = self.bare_model
        return {
            "model": model.state_dict(),
            "iteration": self.iteration,
            "batches": self.batches,
            "model_name": getattr(model, "gaitbench_name", type(model).__name__.lower()),
            "model_args": getattr(model, "gaitbench_args", {}),
            "config": self.recipe.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "sampler": self.sampler_state,
            "rng": ckpt_io.rng_state(),
            "gaitbench_version": gaitbench.__version__,
        }

    def save(self) -> Path | None:
        """Checkpoint the current iteration (main rank); never a state with a NaN behind it."""
        self.check_finite()
        if self.dist.is_main:
            self.last_checkpoint = ckpt_io.save_checkpoint(
                self.run_dir, self.state_dict(), self.recipe.train.keep_last
            )
        self.last_saved = self.iteration
        return self.last_checkpoint

    # -- the loop -----------------------------------------------------------------------------
    def fit(self, batches: Any, stop_at: int) -> bool:
        """Run until ``stop_at``; returns True when Ctrl-C stopped it (after saving)."""
        log_every = self.recipe.train.log_every
        for hook in self.hooks:
            hook.before_train(self)
        self._interval_start = time.perf_counter()
        interrupted = False
        with _StopRequest() as stop:
            batch_iter = iter(batches)
            try:
                while self.iteration < stop_at:
                    t0 = time.perf_counter()
                    batch = next(batch_iter)
                    self.batches += 1
                    wait = time.perf_counter() - t0
                    terms = self.step(*batch)
                    if self._count_skip():
                        continue
                    self.iteration += 1
                    self._accumulate(terms, wait)
                    log = None
                    if self.iteration % log_every == 0 or self.iteration == stop_at:
                        self.check_finite()
                        log = self._flush_log()
                    for hook in self.hooks:
                        hook.after_step(self, log)
                    if stop.requested:
                        interrupted = True
                        break
                else:
                    self.finished = True
            finally:
                del batch_iter  # shuts DataLoader workers down before we save or raise
        if interrupted and self.last_saved != self.iteration:
            self.save()
        for hook in self.hooks:
            hook.after_train(self)
        return interrupted


def _build_optimizer(recipe: Recipe, model: nn.Module) -> torch.optim.Optimizer:
    opt = recipe.optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    if opt.name == "adam":
        return torch.optim.Adam(params, lr=opt.lr, weight_decay=opt.weight_decay)
    return torch.optim.SGD(params, lr=opt.lr, momentum=opt.momentum, weight_decay=opt.weight_decay)


def run_precision(recipe: Recipe, device: torch.device, point: ckpt_io.ResumePoint | None) -> str:
    """Resolve ``recipe.train.precision`` (and an automatic ``channels_last``) for ``device``, in
    place so that config.yaml records them, and return the precision. A resumed run keeps its checkpoint's precision; asking for another one
    is refused, since it would change the arithmetic the exact resume depends on."""
    train = recipe.train
    wanted = resolve_precision(train.precision, device, train.amp, train.amp_dtype)
    if point is not None:
        had = checkpoint_precision(point.checkpoint, device)
        if train.precision not in ("auto", had):
            raise GaitbenchError(
                f"checkpoint {point.path} was trained in {had}: resume with --precision {had} "
                "(or without --precision), or start a new run with --out"
            )
        wanted = had
    train.precision = wanted
    if train.channels_last is None:
        train.channels_last = device.type == "cpu"
    return wanted


@dataclass
class Optimisation:
    """What steps the weights, restored from a checkpoint when resuming."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.MultiStepLR
    scaler: torch.amp.GradScaler
    amp_dtype: torch.dtype | None
    start: int
    """The iteration the run goes on from (0 for a new run)."""


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's random (the run's initial weights and any host RNG)."""
    import random

    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def optimisation(
    recipe: Recipe,
    model: nn.Module,
    dev: torch.device,
    point: ckpt_io.ResumePoint | None,
    optimizer_state: dict | None = None,
) -> Optimisation:
    """The recipe's optimiser (over the parameters that require grad), LR schedule, AMP dtype
    and gradient scaler for `model`; from a resume `point`, the model's weights, these states
    and every RNG are restored too, so the run continues bit for bit. ``optimizer_state``: the
    optimiser's state to start a new run from (SelfGait fine-tuning continues pre-training's)."""
    optimizer = _build_optimizer(recipe, model)
    if optimizer_state is not None and point is None:
        optimizer.load_state_dict(optimizer_state)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, recipe.scheduler.milestones, recipe.scheduler.gamma
    )
    precision = recipe.train.precision
    if precision == "auto":
        precision = resolve_precision(precision, dev, recipe.train.amp, recipe.train.amp_dtype)
    amp_dtype = autocast_dtype(precision)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp_dtype == torch.float16)
    start = 0
    if point is not None:
        state = point.checkpoint
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        ckpt_io.set_rng_state(state["rng"])
        start = int(state["iteration"])
    return Optimisation(optimizer, scheduler, scaler, amp_dtype, start)


def store_partition(recipe: Recipe, store: Any) -> Any:
    """The recipe's partition (official, ratio:F or a file) resolved against `store`."""
    from gaitbench.data.partitions import resolve_partition

    return resolve_partition(
        recipe.data.partition,
        recipe.dataset,
        store.subjects(),
        getattr(store, "partition", None),
        index=store.index,
    )


def run_result(
    trainer: Trainer, point: ckpt_io.ResumePoint | None, interrupted: bool, **extra: Any
) -> TrainResult:
    """The `TrainResult` of a finished (or interrupted) `trainer.fit`."""
    return TrainResult(
        run_dir=trainer.run_dir,
        iteration=trainer.iteration,
        checkpoint=trainer.last_checkpoint,
        interrupted=interrupted,
        resumed_from=point.path if point else None,
        skipped=point.skipped if point else [],
        logs=trainer.logs,
        **extra,
    )


def training_split(store: Any, partition: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Store rows of the training subjects, their class indices and the class names (sorted).
    A split by sequence (``partition.sequences``) gives its training rows of those subjects."""
    subjects = store.index["subject"].astype(str).to_numpy()
    train = set(map(str, partition.train))
    rows = np.flatnonzero(np.isin(subjects, list(train)))
    if getattr(partition, "sequences", None) is not None:
        rows = np.intersect1d(rows, partition.sequences.train_rows)
    if len(rows) == 0:
        raise GaitbenchError(
            f"store {store.path} has no sequence of the {len(train)} training subjects: "
            "check --data and --partition"
        )
    classes = sorted(set(subjects[rows]))
    lookup = {s: i for i, s in enumerate(classes)}
    labels = np.array([lookup[s] for s in subjects[rows]], dtype=np.int64)
    return rows, labels, classes


def check_batch_fits(recipe: Recipe, subjects: int, store_path: str | Path) -> None:
    """A P x K batch needs P training subjects."""
    if subjects < recipe.data.ids_per_batch:
        raise GaitbenchError(
            f"{subjects} training subjects in {store_path}, fewer than "
            f"data.ids_per_batch={recipe.data.ids_per_batch}: lower it with --set"
        )


def training_notes(recipe: Recipe, store_path: str | Path) -> list[str]:
    """One line per kind of training data the sampler cannot take as the recipe asks (none: no
    line): sequences shorter than the clip, whose frames are repeated, and identities with fewer
    than K sequences, drawn with replacement. Nothing is dropped from the training split."""
    from gaitbench.data.store import Store

    with Store(store_path) as store:
        rows, labels, _ = training_split(store, store_partition(recipe, store))
        lengths = store.index["length"].to_numpy()[rows]
    d = recipe.data
    clip = d.frames if d.sample_type.startswith("fixed") else d.frames_min
    notes = []
    short = int((lengths < clip).sum())
    if short:
        notes.append(
            f"training split: {short:,} of {len(rows):,} sequences shorter than the "
            f"{clip}-frame clip (frames repeated)"
        )
    few = int((np.bincount(labels) < d.seqs_per_id).sum())
    if few:
        notes.append(
            f"training split: {few:,} identities with fewer than {d.seqs_per_id} "
            "sequences (data.seqs_per_id; drawn with replacement)"
        )
    return notes


def train(
    recipe: Recipe,
    store_path: str | Path,
    run_dir: str | Path,
    *,
    device: str = "cpu",
    resume: bool = False,
    progress: Callable[[int, dict | None], None] | None = None,
    tensorboard: bool = False,
    model: nn.Module | None = None,
    train_subjects: list[str] | None = None,
    optimizer_state: dict | None = None,
) -> TrainResult:
    """Train ``recipe.model.name`` on the training split of a store; write the run folder.

    ``model``: train this module instead of creating ``recipe.model.name`` (it must return a
    `gaitbench.models.ModelOutput`). ``train_subjects``: use the labels of only these training
    subjects (SelfGait's label-efficiency fine-tuning); the test split is unchanged.
    ``optimizer_state``: a state for the recipe's optimiser to start from (not on resume). Under
    torchrun (``WORLD_SIZE > 1``) every rank calls this.
    """
    from gaitbench.data.sampling import TrainClips, iteration_loader
    from gaitbench.data.store import Store

    run_dir = Path(run_dir)
    store_path = Path(store_path)
    device = resolve_device(device)
    dist = D.init_from_env(device)
    dev = D.device_for(device, dist)
    try:
        store = Store(store_path, in_memory=recipe.data.in_memory)
        partition = store_partition(recipe, store)
        if train_subjects is not None:
            keep = set(map(str, train_subjects))
            partition = dataclasses.replace(
                partition, train=[s for s in partition.train if s in keep]
            )
        rows, labels, classes = training_split(store, partition)
        check_batch_fits(recipe, len(classes), store_path)
        recipe.model.num_classes = len(classes)

        point = run_folder.resume_point(run_dir, resume)
        run_precision(recipe, dev, point)
        seed = recipe.train.seed
        seed_everything(seed)
        if model is None:
            from gaitbench.models import create

            model = create(
                recipe.model.name, recipe.dataset, num_classes=len(classes), **recipe.model.args
            )
        check_frame_size(model, store.size, str(store_path))
        if dist.is_main:  # every check passed: the run begins
            run_folder.start(run_dir, recipe)
        model = model.to(dev)
        if recipe.train.channels_last:
            model = to_channels_last(model)
        model.train()
        opt = optimisation(recipe, model, dev, point, optimizer_state)
        start = opt.start

        if dist.enabled:
            if recipe.train.sync_bn:
                model = D.sync_batchnorm(model, dev)
            model = nn.parallel.DistributedDataParallel(
                model, device_ids=[dev.index] if dev.type == "cuda" else None
            )
        if recipe.train.compile:
            model = torch.compile(model)

        d = recipe.data
        dataset = TrainClips(
            store_path,
            rows,
            labels,
            p=d.ids_per_batch,
            k=d.seqs_per_id,
            sample_type=d.sample_type,
            frames=d.frames,
            frames_skip=d.frames_skip,
            frames_min=d.frames_min,
            frames_max=d.frames_max,
            augment=[(a.name, a.p) for a in d.augment],
            windows=partition.sequences.windows_of(rows) if partition.sequences else None,
            seed=seed,
            rank=dist.rank,
            world_size=dist.world_size,
            in_memory=d.in_memory,
            store=store if d.workers == 0 else None,
        )
        # Batches, not iterations: a skipped fp16 step draws a batch but is no iteration.
        first_batch = int(point.checkpoint.get("batches", start)) if point is not None else 0
        loader = iteration_loader(
            dataset, first_batch, None, d.workers, pin_memory=dev.type == "cuda"
        )

        loss_fn = GaitLoss(
            recipe.loss.triplet_weight,
            recipe.loss.triplet_margin,
            recipe.loss.ce_weight,
            recipe.loss.ce_scale,
            recipe.loss.label_smoothing,
        )
        hooks: list[Hook] = []
        metrics_path = run_dir / "metrics.jsonl"
        if dist.is_main:
            hooks.append(MetricsHook(metrics_path, progress))
            if tensorboard:
                hooks.append(TensorBoardHook(run_dir / "tensorboard"))
        hooks.append(CheckpointHook(recipe.train.save_every, recipe.train.keep_last))
        if dist.is_main:  # after the checkpoints: it records the segment at each one
            hooks.append(RunInfoHook(run_dir, store_path, seed))
        if recipe.train.eval_every > 0:
            from gaitbench.evaluation.api import evaluate_model

            def evaluate(m: nn.Module) -> dict:
                return evaluate_model(m, store, partition, recipe.dataset, device=str(dev))

            hooks.append(EvalHook(recipe.train.eval_every, evaluate, metrics_path))

        trainer = Trainer(
            model,
            loss_fn,
            opt.optimizer,
            opt.scheduler,
            opt.scaler,
            recipe,
            run_dir,
            dist,
            dev,
            opt.amp_dtype,
            hooks,
            start,
            dataset.sampler.state_dict(),
            start_batch=first_batch,
        )
        if point is not None:
            trainer.last_checkpoint, trainer.last_saved = point.path, start
        interrupted = trainer.fit(loader, recipe.train.iterations)
        return run_result(trainer, point, interrupted, num_classes=len(classes))
    finally:
        D.shutdown(dist)
