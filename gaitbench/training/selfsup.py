"""SelfGait's self-supervised stage: unlabelled clips, augmentations, the pretext step, the EMA.

Pre-training never sees a label. `UnlabelledClips` is handed a store and a list of row numbers
and only ever calls ``store.read(row)``: no subject id reaches the sampler, the batches or the
loss (which rows form the unlabelled pool, the training split, is decided before it).

Two pretext tasks, as in the SelfGait release:

- ``two-view``: two independently augmented copies of the same clip; the online branch of each
  predicts the target projection of the other (BYOL).
- ``next-frame``: the online branch sees the first ``k - 1`` frames of one copy and predicts the
  target projection of the last frame of the other copy.

Both are symmetrised (each copy takes each role once) and averaged, so the loss is 0 for a
perfect prediction and about 2 for unrelated vectors.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from gaitbench.data.sampling import StoreBatches, augment_sequence, sample_frame_indices
from gaitbench.errors import GaitbenchError
from gaitbench.models.selfgait import (
    COLLAPSE_FRACTION,
    SelfGait,
    byol_loss,
    collapse_threshold,
    embedding_spread,
)
from gaitbench.paths import atomic_write
from gaitbench.training import distributed as D
from gaitbench.training import run_folder
from gaitbench.training.config import Recipe
from gaitbench.training.hooks import (
    CheckpointHook,
    Hook,
    MetricsHook,
    TensorBoardHook,
    append_jsonl,
)
from gaitbench.training.launch import train_model
from gaitbench.training.precision import to_channels_last
from gaitbench.training.runinfo import RunInfoHook
from gaitbench.training.trainer import (
    Trainer,
    TrainResult,
    optimisation,
    run_precision,
    run_result,
    seed_everything,
    store_partition,
    train,
    training_split,
)

PRETEXTS = ("two-view", "next-frame")
MOMENTUM = 0.996  # the release's trainer.m


# -- unlabelled data -----------------------------------------------------------------------------

# The release's active transforms (github EchoItLiu/SelfGait @80a26fd, data/transforms.py): a
# horizontal flip drawn frame by frame with p 0.5, and a random grayscale, which is the identity on
# a binary silhouette. `pretrain` uses the recipe's data.augment (the published recipe: this).
PRETRAIN_AUGMENT = (("frame-flip", 0.5),)


class UnlabelledClips(StoreBatches):
    """Item ``i``: iteration ``i``'s two augmented views of the same clips, uint8 [n, s, H, W'] x2.

    Reads frames only: it is given store rows (the unlabelled pool) and calls ``store.read(row)``,
    never the store's index, so no subject id reaches pre-training. A batch is a function of
    ``(seed, iteration)`` alone (exact resume, any number of workers), as in `TrainClips`.
    """

    def __init__(
        self,
        store_path: str | Path,
        rows: Sequence[int],
        *,
        batch_size: int,
        frames: int = 30,
        augment: Sequence[tuple[str, float]] = PRETRAIN_AUGMENT,
        windows: Sequence[tuple[int, int]] | None = None,
        seed: int = 0,
        in_memory: bool = False,
        store: Any = None,
    ) -> None:
        """``windows``: per row, the (start, end) frames it is cut to (the SelfGait release's
        fixed window); None uses whole sequences."""
        if len(rows) == 0:
            raise GaitbenchError(
                f"pre-training pool of {store_path} is empty: check --data and the partition"
            )
        self._attach(store_path, in_memory, store)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.batch_size, self.frames, self.seed = batch_size, frames, seed
        self.augment = list(augment)
        self.windows = None if windows is None else np.asarray(windows, dtype=np.int64)

    def __getitem__(self, iteration: int) -> tuple[torch.Tensor, torch.Tensor]:
        store = self._open()
        rng = np.random.default_rng([self.seed, iteration])
        chosen = rng.choice(
            len(self.rows), size=self.batch_size, replace=len(self.rows) < self.batch_size
        )
        views_a, views_b = [], []
        for j, pos in enumerate(chosen):
            rng_j = np.random.default_rng([self.seed, iteration, j])
            seq = store.read(int(self.rows[pos]))
            if self.windows is not None:
                start, end = self.windows[pos]
                seq = seq[start:end]
            # Consecutive frames (no skip): the next-frame pretext needs real temporal order.
            clip = seq[sample_frame_indices(len(seq), self.frames, rng_j, ordered=True)]
            views_a.append(augment_sequence(clip, self.augment, rng_j))
            views_b.append(augment_sequence(clip, self.augment, rng_j))  # fresh draws: another view
        return torch.from_numpy(np.stack(views_a)), torch.from_numpy(np.stack(views_b))

    def state_dict(self) -> dict[str, Any]:
        return {"seed": self.seed}


# -- the pretext step and the momentum update ----------------------------------------------------


def pretext_loss(
    model: SelfGait, view_a: Tensor, view_b: Tensor, pretext: str = "two-view"
) -> Tensor:
    """Symmetrised BYOL loss between two augmented copies of the same clips: [n, s, H, W] x2 -> [].

    ``two-view``: online(a) vs target(b) and online(b) vs target(a).
    ``next-frame``: online(a[:, :-1]) vs target(b[:, -1:]) and the same with a and b swapped.
    """
    return pretext_terms(model, view_a, view_b, pretext)[0]


def pretext_terms(
    model: SelfGait, view_a: Tensor, view_b: Tensor, pretext: str = "two-view"
) -> tuple[Tensor, Tensor]:
    """`pretext_loss` and the online backbone's embeddings of both online inputs, [2n, P, D]
    (what the collapse monitor measures: the embedding fine-tuning and inference use)."""
    if pretext == "two-view":
        pairs = [(view_a, view_b), (view_b, view_a)]
    elif pretext == "next-frame":
        if view_a.shape[1] < 2:
            raise GaitbenchError(
                "pretext next-frame needs clips of at least 2 frames: raise --frames"
            )
        pairs = [(view_a[:, :-1], view_b[:, -1:]), (view_b[:, :-1], view_a[:, -1:])]
    else:
        raise GaitbenchError(f"unknown pretext {pretext!r}: choose one of {', '.join(PRETEXTS)}")
    losses, embeddings = [], []
    for x, y in pairs:
        emb = model.backbone(x)
        losses.append(byol_loss(model.predictor(model.projector(emb)), model.target_projection(y)))
        embeddings.append(emb)
    return sum(losses) / len(losses), torch.cat(embeddings)


@torch.no_grad()
def ema_update(model: SelfGait, momentum: float = MOMENTUM) -> None:
    """Move every target tensor exactly ``(1 - momentum)`` of the way toward its online twin.

    ``target <- momentum * target + (1 - momentum) * online`` for parameters and float buffers
    (batch-norm running statistics); integer buffers (batch counters) are copied.
    """
    target = model.target
    pairs = [
        (target.encoder, model.encoder),
        (target.fcs, model.fcs),
        (target.projector, model.projector),
    ]
    for tgt, onl in pairs:
        for t, o in zip(tgt.parameters(), onl.parameters(), strict=True):
            t.lerp_(o, 1 - momentum)
        for t, o in zip(tgt.buffers(), onl.buffers(), strict=True):
            if t.is_floating_point():
                t.lerp_(o, 1 - momentum)
            else:
                t.copy_(o)


# -- fine-tuning helpers -------------------------------------------------------------------------


def labelled_subjects(train_subjects: Sequence[str], fraction: float, seed: int = 0) -> list[str]:
    """The seeded subset of training subjects whose labels fine-tuning may use (at least 2, sorted)."""
    if not 0 < fraction <= 1:
        raise GaitbenchError(f"--labels {fraction}: give a fraction of subjects in (0, 1]")
    subjects = sorted(train_subjects)
    k = max(2, round(fraction * len(subjects)))  # a triplet needs two identities
    if k > len(subjects):
        raise GaitbenchError(
            f"--labels {fraction} leaves fewer than 2 of {len(subjects)} training subjects"
        )
    chosen = np.random.default_rng(seed).choice(len(subjects), size=k, replace=False)
    return sorted(subjects[i] for i in chosen)


def load_pretrained(model: SelfGait, checkpoint: dict) -> list[str]:
    """Copy a pre-training checkpoint's weights into ``model`` (strict); returns the keys loaded.

    The checkpoint must come from the same SelfGait variant: a mismatch is a user error.
    """
    name = checkpoint.get("model_name", "?")
    if not str(name).startswith("selfgait"):
        raise GaitbenchError(
            f"--init checkpoint holds model {name!r}, not selfgait: pass a selfgait pretrain run"
        )
    state = checkpoint["model"]
    own = model.state_dict()
    bad = [k for k in own if k not in state or state[k].shape != own[k].shape]
    if bad or len(state) != len(own):
        raise GaitbenchError(
            f"--init checkpoint ({name}) does not fit this selfgait variant "
            f"({len(bad)} mismatched tensors, e.g. {bad[:1]}): use the same variant"
        )
    model.load_state_dict(state, strict=True)
    return list(state)


def carried_optimizer_state(
    checkpoint: dict[str, Any],
    pretrained_names: Sequence[str],
    finetuned_names: Sequence[str],
    recipe: Recipe,
) -> dict[str, Any]:
    """Pre-training's optimiser state for an optimiser over ``finetuned_names`` (in that order).

    The release (github EchoItLiu/SelfGait @80a26fd, main.py and trainer.py) builds one SGD over
    encoder, MTB, FCs, projection and predictor, restores its state from the pre-training checkpoint
    and keeps stepping it in finetune(), where only the backbone gets gradients (SGD leaves a
    parameter without a gradient alone). Here the fine-tuning optimiser holds the backbone only,
    with the momentum buffers pre-training left for exactly those parameters.
    ``pretrained_names``: the parameters the checkpoint's optimiser held, in its order. The
    hyper-parameters (lr, momentum, weight decay) are the recipe's, so --set still acts.
    """
    saved = checkpoint.get("optimizer")
    if not saved or len(saved.get("param_groups", [])) != 1:
        raise GaitbenchError(
            "--init checkpoint holds no single-group optimiser state: pass a run of "
            "`gaitbench train selfgait --stage pretrain`"
        )
    group = dict(saved["param_groups"][0])
    if len(group["params"]) != len(pretrained_names):
        raise GaitbenchError(
            f"--init checkpoint's optimiser holds {len(group['params'])} parameters, this "
            f"selfgait variant's pre-training {len(pretrained_names)}: use the same variant"
        )
    position = {name: int(i) for name, i in zip(pretrained_names, group["params"], strict=True)}
    missing = [n for n in finetuned_names if n not in position]
    if missing:
        raise GaitbenchError(
            f"--init checkpoint's optimiser has no state for {missing[0]}: use the same variant"
        )
    state = {
        j: saved["state"][position[name]]
        for j, name in enumerate(finetuned_names)
        if position[name] in saved["state"]
    }
    group.pop("initial_lr", None)  # the new run's schedule starts from the recipe's lr
    opt = recipe.optimizer
    group.update(
        params=list(range(len(finetuned_names))),
        lr=opt.lr,
        momentum=opt.momentum,
        weight_decay=opt.weight_decay,
    )
    return {"state": state, "param_groups": [group]}


# -- the two stages, as runs -----------------------------------------------------------------------

STAGE_FILE = (
    "selfgait.json"  # RUN/selfgait.json: stage, pretext, init run, labelled fraction and subjects
)


def _write_stage(run_dir: Path, record: dict[str, Any]) -> None:
    with atomic_write(run_dir / STAGE_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")


def read_stage(run_dir: str | Path) -> dict[str, Any]:
    """A SelfGait run's stage record (``RUN/selfgait.json``); a run without one is a user error."""
    path = Path(run_dir) / STAGE_FILE
    if not path.is_file():
        raise GaitbenchError(f"{path} not found: {run_dir} is not a `gaitbench train selfgait` run")
    return json.loads(path.read_text())


def _selfgait(model: nn.Module) -> SelfGait:
    if not isinstance(model, SelfGait):
        raise GaitbenchError(
            f"--stage needs a selfgait model, got {getattr(model, 'gaitbench_name', model)!r}"
        )
    return model


def _last_checkpoint(run: str | Path) -> dict[str, Any]:
    from gaitbench.training.checkpoint import checkpoint_dir, load_checkpoint

    path = checkpoint_dir(Path(run)) / "last.pt"
    if not path.is_file():
        raise GaitbenchError(
            f"--init {run}: no checkpoints/last.pt there; pass a finished pretrain run folder"
        )
    return load_checkpoint(path)


class PretrainTrainer(Trainer):
    """The trainer with SelfGait's self-supervised step: the batch is two views, not sils + labels."""

    def __init__(self, *args: Any, pretext: str, momentum: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pretext, self.momentum = pretext, momentum

    def step(self, view_a: Tensor, view_b: Tensor) -> dict[str, Tensor]:  # type: ignore[override]
        """Pretext loss on two uint8 views [n, s, H, W], backward, optimiser step, then the EMA."""
        a = view_a.to(self.device, non_blocking=True).float().div_(255.0)
        b = view_b.to(self.device, non_blocking=True).float().div_(255.0)
        autocast = (
            torch.autocast(self.device.type, dtype=self.amp_dtype)
            if self.amp_dtype is not None
            else nullcontext()
        )
        with autocast:
            loss, embeddings = pretext_terms(self.bare_model, a, b, self.pretext)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        ema_update(self.bare_model, self.momentum)
        return {"loss": loss.detach(), "embed_std": embedding_spread(embeddings)}


class CollapseHook(Hook):
    """Watches the logged embedding spread (``embed_std``): the first logging interval whose mean
    falls below ``threshold`` gets a ``collapse_warning`` message (the CLI prints it) and a
    ``collapse`` event line in metrics.jsonl. Listed before `MetricsHook`, so the message is
    written with the interval's log line."""

    def __init__(self, threshold: float, dim: int, metrics_path: Path) -> None:
        self.threshold, self.dim, self.metrics_path = threshold, dim, metrics_path
        self.warned = False

    def after_step(self, trainer: Trainer, log: dict[str, Any] | None) -> None:
        if log is None or self.warned or log.get("embed_std", math.inf) >= self.threshold:
            return
        self.warned = True
        spread = log["embed_std"]
        log["collapse_warning"] = (
            f"embedding spread {spread:.4f} at iteration {trainer.iteration} is below "
            f"{self.threshold:.4f} ({COLLAPSE_FRACTION:g} / sqrt({self.dim})): the online "
            "embeddings are collapsing onto one direction"
        )
        append_jsonl(
            self.metrics_path,
            {
                "iteration": trainer.iteration,
                "event": "collapse",
                "message": log["collapse_warning"],
            },
        )


def pretrain(
    recipe: Recipe,
    store_path: str | Path,
    run_dir: str | Path,
    *,
    pretext: str = "two-view",
    momentum: float = MOMENTUM,
    device: str = "cpu",
    resume: bool = False,
    progress: Callable[[int, dict | None], None] | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """SelfGait pre-training on the training split's sequences, without their labels.

    The partition decides which sequences form the unlabelled pool (test subjects stay out);
    from there on only store rows travel: `UnlabelledClips` reads frames, never subject ids.
    Writes a normal run folder (config.yaml, checkpoints, metrics.jsonl) plus ``selfgait.json``.
    """
    from gaitbench.data.sampling import iteration_loader
    from gaitbench.data.store import Store
    from gaitbench.models import create

    if pretext not in PRETEXTS:
        raise GaitbenchError(f"unknown pretext {pretext!r}: choose one of {', '.join(PRETEXTS)}")
    if not 0 <= momentum < 1:
        raise GaitbenchError(f"--momentum {momentum}: give a value in [0, 1), e.g. {MOMENTUM}")
    run_dir, store_path = Path(run_dir), Path(store_path)
    dist = D.init_from_env(device)
    try:
        if dist.enabled:
            raise GaitbenchError(
                "selfgait pre-training runs in one process: launch it without torchrun"
            )
        dev = D.device_for(device, dist)
        store = Store(store_path, in_memory=recipe.data.in_memory)
        partition = store_partition(recipe, store)
        rows, _, _ = training_split(store, partition)  # the pool; its labels are dropped here
        point = run_folder.resume_point(run_dir, resume)
        run_precision(recipe, dev, point)
        run_folder.start(run_dir, recipe)
        seed = recipe.train.seed
        seed_everything(seed)
        model = _selfgait(create(recipe.model.name, recipe.dataset, **recipe.model.args)).to(dev)
        if recipe.train.channels_last:
            to_channels_last(model)
        model.train()
        threshold = collapse_threshold(model.embed_dim)
        _write_stage(
            run_dir,
            {
                "stage": "pretrain",
                "pretext": pretext,
                "momentum": momentum,
                "labels": 0.0,
                "pool_sequences": len(rows),
                "collapse_threshold": threshold,
            },
        )
        opt = optimisation(recipe, model, dev, point)  # online branch and heads: target frozen
        start = opt.start

        d = recipe.data
        dataset = UnlabelledClips(
            store_path,
            rows,
            batch_size=d.ids_per_batch * d.seqs_per_id,
            frames=d.frames,
            augment=[(a.name, a.p) for a in d.augment],
            windows=partition.sequences.windows_of(rows) if partition.sequences else None,
            seed=seed,
            in_memory=d.in_memory,
            store=store if d.workers == 0 else None,
        )
        loader = iteration_loader(
            dataset, start, recipe.train.iterations, d.workers, pin_memory=dev.type == "cuda"
        )
        hooks: list[Hook] = [
            CollapseHook(threshold, model.embed_dim, run_dir / "metrics.jsonl"),
            MetricsHook(run_dir / "metrics.jsonl", progress),
            CheckpointHook(recipe.train.save_every, recipe.train.keep_last),
            RunInfoHook(run_dir, store_path, seed),  # after the checkpoints, as in Trainer
        ]
        if tensorboard:
            hooks.append(TensorBoardHook(run_dir / "tensorboard"))
        trainer = PretrainTrainer(
            model,
            None,
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
            dataset.state_dict(),
            pretext=pretext,
            momentum=momentum,
        )
        if point is not None:
            trainer.last_checkpoint, trainer.last_saved = point.path, start
        interrupted = trainer.fit(loader, recipe.train.iterations)
        return run_result(trainer, point, interrupted)
    finally:
        D.shutdown(dist)


def finetune(
    recipe: Recipe,
    store_path: str | Path,
    run_dir: str | Path,
    *,
    init: str | Path | None = None,
    labels: float = 1.0,
    label_seed: int = 0,
    carry_optimizer: bool = True,
    device: str = "cpu",
    resume: bool = False,
    progress: Callable[[int, dict | None], None] | None = None,
    tensorboard: bool = False,
) -> TrainResult:
    """Fine-tune SelfGait's backbone with the triplet loss on a seeded fraction of training subjects.

    ``init``: a pretrain run folder whose ``last.pt`` initialises every weight (None: from scratch)
    and, as in the release, whose SGD state the fine-tuning optimiser continues
    (`carried_optimizer_state`; ``carry_optimizer=False`` starts it fresh, for comparison).
    ``labels``: the fraction of the partition's training subjects whose labels are used. The test
    split is the partition's, so results sit beside every other model's. The chosen subjects
    and where the optimiser state came from are recorded in ``RUN/selfgait.json``.
    """
    from gaitbench.data.store import Store
    from gaitbench.models import create

    run_dir = Path(run_dir)
    if not resume:
        run_folder.refuse_existing_run(run_dir)
    with Store(store_path) as store:
        _, _, train_subjects = training_split(store, store_partition(recipe, store))
    chosen = labelled_subjects(train_subjects, labels, label_seed)
    if len(chosen) < recipe.data.ids_per_batch:
        raise GaitbenchError(
            f"--labels {labels} keeps {len(chosen)} of {len(train_subjects)} training subjects, "
            f"fewer than data.ids_per_batch={recipe.data.ids_per_batch}: lower it with --set"
        )

    # Seeded before the weights are drawn: a from-scratch fine-tuning is its seed's, as any run.
    seed_everything(recipe.train.seed)
    model = _selfgait(create(recipe.model.name, recipe.dataset, **recipe.model.args))
    record: dict[str, Any] = {
        "stage": "finetune",
        "init": None,
        "labels": labels,
        "label_seed": label_seed,
        "train_subjects": len(train_subjects),
        "labelled_subjects": chosen,
    }
    pretrained_names = [n for n, p in model.named_parameters() if p.requires_grad]
    # Fine-tuning trains the backbone only (the release's "Gait_list"): heads and target stay put.
    for head in (model.projector, model.predictor, model.target):
        head.requires_grad_(False)
    finetuned_names = [n for n, p in model.named_parameters() if p.requires_grad]
    optimizer_state = None
    record["optimizer_state"] = "fresh"
    if init is not None:
        ckpt = _last_checkpoint(init)
        load_pretrained(model, ckpt)
        record["init"] = str(init)
        record["init_iteration"] = int(ckpt.get("iteration", 0))
        pre_opt = (ckpt.get("config") or {}).get("optimizer", {}).get("name")
        if carry_optimizer and pre_opt == recipe.optimizer.name:
            optimizer_state = carried_optimizer_state(
                ckpt, pretrained_names, finetuned_names, recipe
            )
            record["optimizer_state"] = f"carried from {init} iteration {record['init_iteration']}"
        elif carry_optimizer:
            record["optimizer_state"] = (
                f"fresh: fine-tuning's {recipe.optimizer.name} is not pre-training's {pre_opt}"
            )
    _write_stage(run_dir, record)
    return train(
        recipe,
        store_path,
        run_dir,
        device=device,
        resume=resume,
        progress=progress,
        tensorboard=tensorboard,
        model=model,
        train_subjects=chosen,
        optimizer_state=optimizer_state,
    )


STAGES = ("pretrain", "finetune")
# The release's pre-training settings (github EchoItLiu/SelfGait @80a26fd: main.py's SGD from
# config/config.yaml `optimizer.params`; trainer.py train_ft's default maxiter 10,000, of which the
# published fine-tuning loads the 9,000-iteration checkpoint), applied before the user's --set.
PRETRAIN_OVERRIDES = (
    "optimizer.name=sgd",
    "optimizer.lr=0.03",
    "optimizer.momentum=0.9",
    "optimizer.weight_decay=0.0004",
    "train.iterations=10000",
)


def train_selfgait(
    model: str,
    *,
    stage: str,
    init: str | Path | None = None,
    labels: float = 1.0,
    label_seed: int = 0,
    pretext: str | None = None,
    momentum: float = MOMENTUM,
    overrides: Sequence[str] = (),
    **options: Any,
) -> TrainResult:
    """What ``gaitbench train selfgait --stage pretrain|finetune`` does: `train_model` with the stage.

    ``options`` are `train_model`'s (dataset, data, recipe, iterations, out, resume, ...).
    """
    if not model.startswith("selfgait"):
        raise GaitbenchError(
            f"--stage, --init and --labels are SelfGait options; model {model!r} trains without them"
        )
    if stage == "pretrain":
        if init is not None or labels != 1.0:
            raise GaitbenchError(
                "--init and --labels belong to --stage finetune: pre-training uses no labels"
            )
        pretext = pretext or PRETEXTS[0]
        if pretext not in PRETEXTS:
            raise GaitbenchError(
                f"unknown --pretext {pretext!r}: choose one of {', '.join(PRETEXTS)}"
            )
        runner = functools.partial(pretrain, pretext=pretext, momentum=momentum)
        # --iterations names the length itself; the release's default then gives way to it.
        given = options.get("iterations") is not None
        defaults = [
            o for o in PRETRAIN_OVERRIDES if not (given and o.startswith("train.iterations="))
        ]
        overrides = [*defaults, *overrides]
    elif stage == "finetune":
        if pretext is not None:
            raise GaitbenchError(
                "--pretext belongs to --stage pretrain: fine-tuning has no pretext"
            )
        runner = functools.partial(finetune, init=init, labels=labels, label_seed=label_seed)
    else:
        raise GaitbenchError(f"unknown --stage {stage!r}: choose one of {', '.join(STAGES)}")
    return train_model(model, overrides=list(overrides), runner=runner, **options)
