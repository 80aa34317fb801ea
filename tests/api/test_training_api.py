"""POST /api/gradient-check and the dataset endpoints, through the app's error handling."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api import errors, training
from app.config import Settings
from app.main import create_app
from app.training.config import TrainConfig


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("training-api")))
    return TestClient(app)  # no lifespan: these routes need no store or jobs


def test_gradient_check_small_net(api: TestClient) -> None:
    r = api.post("/api/gradient-check", json={"hidden_size": 5, "seed": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["hidden_size"] == 5 and body["images"] == 3 and body["kink"]["h"] == 1e-4
    assert set(body["diffs"]) == {"W1", "b1", "W2", "b2"} and all(v < 1e-6 for v in body["diffs"].values())
    assert body["passed"] and body["numerical_seconds"] > body["backprop_seconds"] > 0
    assert body["speedup"] == pytest.approx(body["numerical_seconds"] / body["backprop_seconds"])
    assert "Backprop took" in body["explanation"]


def test_gradient_check_reports_kinks(api: TestClient) -> None:
    """With 5 hidden units, seed 71 puts unit 2 8.2e-5 from its kink (found by scanning kink reports)."""
    body = api.post("/api/gradient-check", json={"hidden_size": 5, "seed": 71}).json()
    assert body["kink"]["units"] == [2] and body["kink"]["closest"][0] == pytest.approx(8.2e-5, rel=0.01)
    assert body["kink"]["entries"] == {"W1": 90, "b1": 1}
    assert body["diffs"]["b1"] > 1e-6 and body["diffs_without_kinks"]["b1"] < 1e-8
    assert body["passed"] and "1 hidden unit(s) sat within" in body["explanation"]


def test_one_check_at_a_time(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    monkeypatch.setattr(training, "_checks", asyncio.Semaphore(0))  # as if a check were running
    r = api.post("/api/gradient-check", json={"hidden_size": 1})
    assert r.status_code == 429 and r.headers["retry-after"] == "5"


@pytest.mark.parametrize("payload, field", [({"hidden_size": 0}, "hidden_size"), ({"hidden_size": 101}, "hidden_size"),
                                            ({"seed": -1}, "seed"), ({"seed": "x"}, "seed"), ({"h": 1}, "h")])
def test_gradient_check_bad_input(api: TestClient, payload: dict, field: str) -> None:
    r = api.post("/api/gradient-check", json=payload)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field


def test_datasets(api: TestClient) -> None:
    r = api.get("/api/datasets")
    assert r.status_code == 200
    ds = {d["name"]: d for d in r.json()["datasets"]}
    assert ds["mnist"] == {"name": "mnist", "title": "MNIST handwritten digits", "available": True,
                           "classes": [str(i) for i in range(10)], "train_size": 60000, "test_size": 10000}
    assert "fashion-mnist" in ds and ds["fashion-mnist"]["classes"][0] == "T-shirt/top"


def test_samples(api: TestClient) -> None:
    from app.data import load_dataset

    r = api.get("/api/datasets/mnist/samples", params={"split": "test", "n": 3, "offset": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    test = load_dataset("mnist")
    assert body["indices"] == [5, 6, 7] and body["labels"] == test.t_test[5:8].tolist()
    assert body["shape"] == [28, 28] and len(body["images"][0]) == 784
    assert body["images"][1] == pytest.approx(test.x_test[6].tolist())
    seeded = api.get("/api/datasets/mnist/samples", params={"n": 4, "seed": 1}).json()
    assert seeded == api.get("/api/datasets/mnist/samples", params={"n": 4, "seed": 1}).json()
    assert len(set(seeded["indices"])) == 4


def test_samples_errors(api: TestClient, tmp_path: Path) -> None:
    r = api.get("/api/datasets/cifar/samples")
    assert r.status_code == 404 and "mnist, fashion-mnist" in r.json()["detail"]
    assert api.get(f"/api/datasets/{tmp_path}/samples").status_code == 404  # never a path
    for params in ({"n": 0}, {"n": 101}, {"offset": -1}, {"split": "val"}, {"offset": 10_001}):
        r = api.get("/api/datasets/mnist/samples", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["errors"][0]["message"]


def test_openapi_declares_the_models(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    op = spec["paths"]["/api/gradient-check"]["post"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/GradCheckOut")
    assert "/api/datasets/{name}/samples" in spec["paths"]
    assert spec["components"]["schemas"]["GradCheckIn"]["properties"]["hidden_size"]["maximum"] == 100


def test_gradient_check_rejects_booleans(api: TestClient) -> None:
    r = api.post("/api/gradient-check", json={"seed": False, "hidden_size": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "seed"


def test_train_config_errors_as_422_name_field_and_range() -> None:
    """Any route taking TrainConfig (the runs API does) answers bad values as the CLI does: field and range."""
    app = FastAPI()
    errors.install(app)

    @app.post("/echo")
    async def echo(config: TrainConfig) -> dict:
        return config.model_dump()

    client = TestClient(app)
    assert client.post("/echo", json={}).json()["iterations"] == 10_000
    for body, field, text in (({"batch_size": 0}, "batch_size", "must be an integer from 1 to 60000, got 0"),
                              ({"learning_rate": 0}, "learning_rate", "must be a number > 0 and <= 10"),
                              ({"optimizer": "rmsprop"}, "optimizer", "one of 'sgd', 'momentum', 'adagrad', 'adam'"),
                              ({"dataset": "/etc"}, "dataset", "unknown dataset '/etc': use one of mnist"),
                              ({"train_limit": 10}, "batch_size", "must be at most the 10 training images")):
        r = client.post("/echo", json=body)
        assert r.status_code == 422, body
        err = r.json()["errors"][0]
        assert err["field"] == field and text in err["message"] and text in r.json()["detail"], r.json()


@pytest.mark.parametrize(("path", "body", "detail"), [
    ("/api/runs", [], 'body: must be a JSON object, e.g. a training config such as {"iterations": 2000}'),
    ("/api/runs", {"iterations": 10, "lr": 0.1}, "lr: unknown field; allowed: " + ", ".join(TrainConfig.model_fields)),
    ("/api/graphs/evaluate", [1], "body: must be a JSON object, e.g. a graph with a list of nodes"),
    ("/api/expressions", "x + y", "body: must be a JSON object"),
])
def test_a_body_of_the_wrong_kind_is_told_what_this_route_takes(api: TestClient, path: str, body, detail: str) -> None:
    r = api.post(path, json=body)
    assert r.status_code == 422 and r.json()["detail"] == detail
