"""One config schema: defaults are the book's experiment; every bad value names its field and range."""

from __future__ import annotations

import argparse

import pytest
from pydantic import ValidationError

from app.training.config import TrainConfig, add_arguments, cli_message, config_from_args, error_list, parse_config


def test_defaults_are_the_books_experiment() -> None:
    assert TrainConfig().model_dump() == {
        "dataset": "mnist", "hidden_size": 50, "activation": "relu", "weight_init": 0.01, "optimizer": "sgd",
        "learning_rate": 0.1, "batch_size": 100, "iterations": 10_000, "epochs": None, "eval_every": 600, "seed": None,
        "train_limit": None, "test_limit": None}


@pytest.mark.parametrize("data, field, text", [
    ({"hidden_size": 0}, "hidden_size", "must be an integer from 1 to 2048, got 0"),
    ({"batch_size": -5}, "batch_size", "must be an integer from 1 to 60000, got -5"),
    ({"batch_size": 60_001}, "batch_size", "from 1 to 60000"),
    ({"learning_rate": 0}, "learning_rate", "must be a number > 0 and <= 10, got 0"),
    ({"learning_rate": -0.1}, "learning_rate", "> 0"),
    ({"iterations": 0}, "iterations", "from 1 to 1000000"),
    ({"eval_every": 0}, "eval_every", "from 1 to 1000000"),
    ({"optimizer": "rmsprop"}, "optimizer", "must be one of 'sgd', 'momentum', 'adagrad', 'adam', got 'rmsprop'"),
    ({"activation": "tanh"}, "activation", "one of 'relu', 'sigmoid'"),
    ({"weight_init": -1}, "weight_init", "a number > 0 and <= 10 or one of 'xavier', 'he'"),
    ({"weight_init": "glorot"}, "weight_init", "'glorot'"),
    ({"dataset": "cifar"}, "dataset", "unknown dataset 'cifar': use one of mnist, fashion-mnist"),
    ({"dataset": "/etc"}, "dataset", "unknown dataset '/etc'"),
    ({"seed": -1}, "seed", "from 0 to 4294967295 or null"),
    ({"hidden_size": True}, "hidden_size", "got True"),
    ({"train_limit": 50}, "batch_size", "must be at most the 50 training images, got 100"),
    ({"dataset": "fashion-mnist", "test_limit": 20_000}, "test_limit", "at most the 10000 test images"),
    ({"momentum": 0.9}, "momentum", "unknown field; allowed: dataset, hidden_size"),
])
def test_bad_values_name_field_and_range(data: dict, field: str, text: str) -> None:
    with pytest.raises(ValidationError) as e:
        parse_config(data)
    errors = error_list(e.value)
    assert errors[0]["field"] == field
    assert text in errors[0]["message"] and errors[0]["message"].startswith(f"{field}: ")


def test_good_values() -> None:
    c = parse_config({"weight_init": "he", "optimizer": "adam", "learning_rate": 0.001, "seed": 3, "train_limit": 500,
                      "batch_size": 500})
    assert (c.weight_init, c.optimizer, c.seed, c.batch_size) == ("he", "adam", 3, 500)
    assert parse_config({"weight_init": 0.5}).weight_init == 0.5


def test_directories_only_when_allowed(tmp_path) -> None:  # noqa: ANN001
    assert parse_config({"dataset": str(tmp_path)}, allow_paths=True).dataset == str(tmp_path)
    with pytest.raises(ValidationError):
        parse_config({"dataset": str(tmp_path)})


def test_json_schema_carries_the_ranges() -> None:
    props = TrainConfig.model_json_schema()["properties"]
    assert props["batch_size"]["minimum"] == 1 and props["batch_size"]["maximum"] == 60_000
    assert props["learning_rate"]["exclusiveMinimum"] == 0
    assert props["optimizer"]["enum"] == ["sgd", "momentum", "adagrad", "adam"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="t")
    add_arguments(p)
    return p


def test_cli_flags_come_from_the_schema() -> None:
    flags = {a.option_strings[0] for a in parser()._actions if a.option_strings and a.dest != "help"}
    assert flags == {"--" + name.replace("_", "-") for name in TrainConfig.model_fields}


def test_cli_values_parse_through_the_model() -> None:
    args = parser().parse_args(["--batch-size", "50", "--learning-rate", "0.05", "--weight-init", "xavier",
                                "--seed", "none", "--optimizer", "momentum"])
    c = parse_config(config_from_args(args))
    assert (c.batch_size, c.learning_rate, c.weight_init, c.seed, c.optimizer) == (50, 0.05, "xavier", None, "momentum")
    assert c.iterations == 10_000, "flags not given keep the schema's defaults"


def test_cli_message_is_argparse_style() -> None:
    with pytest.raises(ValidationError) as e:
        parse_config(config_from_args(parser().parse_args(["--batch-size", "0"])))
    assert cli_message(e.value) == "argument --batch-size: must be an integer from 1 to 60000, got '0'"


def test_epochs_set_the_iterations_from_the_training_set() -> None:
    assert parse_config({"epochs": 2}).iterations == 1200  # 2 x 60,000 images / batches of 100
    assert parse_config({"epochs": 1.5, "train_limit": 1000, "batch_size": 64}).iterations == 24  # ceil(1500 / 64)
    dumped = parse_config({"epochs": 2}).model_dump()
    assert parse_config(dumped).iterations == 1200, "a stored config validates again"
    with pytest.raises(ValidationError) as e:
        parse_config({"epochs": 2, "iterations": 500})
    assert error_list(e.value)[0] == {"node": None, "field": "epochs", "message":
        "epochs: give iterations or epochs, not both: 2 epochs of 60000 images in batches of 100 are 1200 iterations, not 500"}
    with pytest.raises(ValidationError) as e:
        parse_config({"epochs": 20_000, "batch_size": 1})
    assert "more than the 1000000 allowed" in error_list(e.value)[0]["message"]


def test_epochs_count_a_directorys_real_size() -> None:
    """A directory's size is unknown when the config is validated; prepare() counts its real images."""
    import dataclasses

    from app.data import load_dataset
    from app.training.loop import prepare

    full = load_dataset("mnist")
    small = dataclasses.replace(full, x_train=full.x_train[:3000], t_train=full.t_train[:3000])
    config, _ = prepare({"epochs": 1, "batch_size": 100}, data=small)
    assert config.iterations == 30
