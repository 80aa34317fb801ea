"""One training config for the API (JSON) and the CLI (flags with dashes), with one set of errors.

``TrainConfig`` is a pydantic model, so the API gets its schema for free, and
``add_arguments`` writes the CLI flags from the same fields, so the two cannot
drift. Every out-of-range value fails with the field's allowed range in the
message: ``batch_size: must be an integer from 1 to 60000, got 0``.
"""

from __future__ import annotations

import argparse
import math
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

# Sizes of the shipped and packaged datasets, so a batch larger than the set fails before any job starts.
KNOWN_SIZES = {"mnist": (60_000, 10_000), "fashion-mnist": (60_000, 10_000)}
MAX_TRAIN = 60_000


class ConfigError(ValueError):
    """A config that passed the schema but does not fit its dataset; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class TrainConfig(BaseModel):
    """The book's experiment is the default: 784-50-10, SGD lr 0.1, batch 100, 10,000 iterations."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field("mnist", description="a dataset name: mnist or fashion-mnist (the CLI also takes a directory)")
    hidden_size: int = Field(50, ge=1, le=2048, description="units in the hidden layer")
    activation: Literal["relu", "sigmoid"] = Field("relu", description="the hidden layer's activation")
    weight_init: Annotated[float, Field(gt=0, le=10)] | Literal["xavier", "he"] = Field(
        0.01, description="the std of the initial weights, or xavier (sqrt(1/n)) or he (sqrt(2/n))")
    optimizer: Literal["sgd", "momentum", "adagrad", "adam"] = Field("sgd", description="the update rule (book ch. 6)")
    learning_rate: float = Field(0.1, gt=0, le=10, description="the step size")
    batch_size: int = Field(100, ge=1, le=MAX_TRAIN, description="images per gradient step")
    iterations: int = Field(10_000, ge=1, le=1_000_000, description="gradient steps")
    epochs: float | None = Field(None, gt=0, le=100_000, description=(
        "passes over the training set instead of iterations: iterations = ceil(epochs x training images / batch_size)"))
    eval_every: int = Field(600, ge=1, le=1_000_000,
                            description="iterations between accuracy evaluations over the full train and test sets")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="the same seed gives identical curves; null = random")
    train_limit: int | None = Field(None, ge=1, le=MAX_TRAIN, description="train on the first N training images only")
    test_limit: int | None = Field(None, ge=1, le=MAX_TRAIN, description="evaluate on the first N test images only")

    @field_validator("*", mode="wrap")
    @classmethod
    def _one_clear_message(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        try:
            if isinstance(value, bool):  # JSON true is not 1
                raise ValidationError.from_exception_data("bool", [])
            return handler(value)
        except ValidationError:
            name = info.field_name or ""
            raise PydanticCustomError("out_of_range", "must be {allowed}, got {got}",
                                      {"allowed": allowed(name), "got": repr(value)}) from None

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str, info: ValidationInfo) -> str:
        if value in KNOWN_SIZES:
            return value
        if (info.context or {}).get("allow_paths") and Path(value).expanduser().is_dir():
            return value  # the CLI may train on any directory of MNIST-format files; the API may not
        raise PydanticCustomError("unknown_dataset", "unknown dataset {got}: use one of {allowed}",
                                  {"got": repr(value), "allowed": ", ".join(KNOWN_SIZES)})

    @model_validator(mode="after")
    def _fits_the_data(self) -> TrainConfig:
        n_train, n_test = KNOWN_SIZES.get(self.dataset, (MAX_TRAIN, MAX_TRAIN))
        try:
            self.check_sizes(n_train, n_test)
            self._set_iterations_from_epochs(n_train)
        except ConfigError as e:  # as a located error, so the API's 422 names the field too
            detail = InitErrorDetails(type=PydanticCustomError("does_not_fit", e.message), loc=(e.field,),
                                      input=getattr(self, e.field))
            raise ValidationError.from_exception_data(type(self).__name__, [detail]) from None
        return self

    def iterations_for(self, n_train: int) -> int:
        """The iterations this config asks for on a training set of ``n_train`` images (epochs win)."""
        if self.epochs is None:
            return self.iterations
        usable = min(n_train, self.train_limit or n_train)
        steps = math.ceil(self.epochs * usable / self.batch_size - 1e-9)
        if steps > 1_000_000:
            raise ConfigError("epochs", f"{self.epochs:g} epochs are {steps} iterations, more than the 1000000 allowed")
        return steps

    def _set_iterations_from_epochs(self, n_train: int) -> None:
        steps = self.iterations_for(n_train)
        if self.epochs is not None and "iterations" in self.model_fields_set and self.iterations != steps:
            usable = min(n_train, self.train_limit or n_train)
            raise ConfigError("epochs", f"give iterations or epochs, not both: {self.epochs:g} epochs of {usable} images "
                                        f"in batches of {self.batch_size} are {steps} iterations, not {self.iterations}")
        object.__setattr__(self, "iterations", steps)  # derived, not given: a stored config validates again

    def check_sizes(self, n_train: int, n_test: int) -> None:
        """Raise ConfigError when the limits or the batch do not fit a dataset of these sizes."""
        if self.train_limit is not None and self.train_limit > n_train:
            raise ConfigError("train_limit", f"must be at most the {n_train} training images, got {self.train_limit}")
        if self.test_limit is not None and self.test_limit > n_test:
            raise ConfigError("test_limit", f"must be at most the {n_test} test images, got {self.test_limit}")
        usable = min(n_train, self.train_limit or n_train)
        if self.batch_size > usable:
            raise ConfigError("batch_size", f"must be at most the {usable} training images, got {self.batch_size}")


def allowed(name: str) -> str:
    """The allowed values of a field, in words, from its type and constraints."""
    field = TrainConfig.model_fields[name]
    parts: list[str] = []
    for arg in _flatten(field.annotation, field.metadata):
        kind, meta = arg
        if kind is type(None):
            parts.append("null" + {"seed": " (random)", "epochs": " (use iterations)"}.get(name, " (all)"))
        elif typing.get_origin(kind) is Literal:
            parts.append("one of " + ", ".join(repr(a) for a in typing.get_args(kind)))
        else:
            parts.append(_range(kind, meta))
    return " or ".join(parts)


def _flatten(annotation: Any, metadata: list[Any]) -> list[tuple[Any, list[Any]]]:
    if typing.get_origin(annotation) in (typing.Union, __import__("types").UnionType):
        out: list[tuple[Any, list[Any]]] = []
        for arg in typing.get_args(annotation):
            if typing.get_origin(arg) is Annotated:
                base, *meta = typing.get_args(arg)
                out.append((base, [m for f in meta for m in getattr(f, "metadata", [f])]))
            else:
                out.append((arg, metadata if arg is not type(None) else []))
        return out
    return [(annotation, metadata)]


def _range(kind: Any, meta: list[Any]) -> str:
    bounds = {type(m).__name__.lower(): getattr(m, type(m).__name__.lower()) for m in meta}
    noun = "an integer" if kind is int else "a number" if kind is float else "a string"
    if "ge" in bounds and "le" in bounds:
        return f"{noun} from {bounds['ge']} to {bounds['le']}"
    low = f"> {bounds['gt']}" if "gt" in bounds else f">= {bounds['ge']}" if "ge" in bounds else ""
    high = f"<= {bounds['le']}" if "le" in bounds else ""
    return " ".join(p for p in (noun, " and ".join(b for b in (low, high) if b)) if p)


def error_list(exc: ValidationError | ConfigError) -> list[dict[str, Any]]:
    """Errors as the API's error shape: [{"node": None, "field", "message"}], message = 'field: what is wrong'."""
    if isinstance(exc, ConfigError):
        return [{"node": None, "field": exc.field, "message": str(exc)}]
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or None
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field; allowed: " + ", ".join(TrainConfig.model_fields)
        out.append({"node": None, "field": field, "message": f"{field}: {msg}" if field else msg})
    return out


def parse_config(data: dict[str, Any], allow_paths: bool = False) -> TrainConfig:
    """Validate a dict (JSON body or collected flags); raises pydantic's ValidationError."""
    return TrainConfig.model_validate(data, context={"allow_paths": allow_paths})


# --- the CLI's flags, written from the fields ---------------------------------------------------

def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per field (``--batch-size``); values stay strings until the model validates them all."""
    group = parser.add_argument_group("training config (the same fields as the API's JSON)")
    for name, field in TrainConfig.model_fields.items():
        group.add_argument(flag(name), dest=name, default=argparse.SUPPRESS, metavar=_metavar(name),
                           help=f"{field.description}; {allowed(name)} (default: {field.default})")


def _metavar(name: str) -> str:
    field = TrainConfig.model_fields[name]
    if typing.get_origin(field.annotation) is Literal:
        return "{" + ",".join(typing.get_args(field.annotation)) + "}"
    return name.upper()


def config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The flags the user gave, by field name; 'none'/'null' clear an optional field."""
    out: dict[str, Any] = {}
    for name in TrainConfig.model_fields:
        if hasattr(args, name):
            value = getattr(args, name)
            out[name] = None if isinstance(value, str) and value.lower() in ("none", "null") else value
    return out


def cli_message(exc: ValidationError | ConfigError) -> str:
    """argparse style: 'argument --batch-size: must be an integer from 1 to 60000, got 0'."""
    lines = []
    for err in error_list(exc):
        field = err["field"]
        if field in TrainConfig.model_fields:
            lines.append(f"argument {flag(field)}: {err['message'].removeprefix(field + ': ')}")
        else:
            lines.append(err["message"])
    return "; ".join(lines)
