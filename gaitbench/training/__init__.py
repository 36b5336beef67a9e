"""Training: recipes (`config`), losses, the trainer, checkpoints, hooks and torchrun support.

>>> from gaitbench.training import load_recipe, find_recipe, train
>>> recipe = load_recipe(find_recipe("hstl", "casia-b"), ["train.iterations=100"])
>>> result = train(recipe, "data/casia-b-64.h5", "runs/hstl")
"""

from gaitbench.training.checkpoint import find_resume, load_checkpoint, save_checkpoint
from gaitbench.training.config import (
    Recipe,
    apply_overrides,
    find_recipe,
    list_recipes,
    load_recipe,
    recipe_from_dict,
    save_recipe,
)
from gaitbench.training.losses import GaitLoss, cross_entropy_loss, triplet_loss
from gaitbench.training.trainer import TrainResult, train

__all__ = [
    "GaitLoss",
    "Recipe",
    "TrainResult",
    "apply_overrides",
    "cross_entropy_loss",
    "find_recipe",
    "find_resume",
    "list_recipes",
    "load_checkpoint",
    "load_recipe",
    "recipe_from_dict",
    "save_checkpoint",
    "save_recipe",
    "train",
    "triplet_loss",
]
