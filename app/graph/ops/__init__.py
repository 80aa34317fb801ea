"""Every op, registered by name: the single list the API, the palette and the docs read."""

from . import activations, arithmetic, losses, tensor  # noqa: F401  (registration)
from .base import REGISTRY, Op, OpError, Param, new_ctx, unbroadcast

__all__ = ["REGISTRY", "Op", "OpError", "Param", "new_ctx", "unbroadcast"]
