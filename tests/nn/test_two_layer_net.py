"""TwoLayerNet: the book's interface, backprop against central differences, the net as a graph."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from app.graph.encode import evaluation_to_json
from app.graph.engine import evaluate
from app.nn.gradcheck import exact_gradient
from app.nn.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss
from app.nn.two_layer_net import TwoLayerNet, init_std, numerical_gradient


def small_batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((4, 6)), np.array([0, 2, 1, 2])


def test_the_books_structure() -> None:
    net = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
    assert {k: v.shape for k, v in net.params.items()} == {"W1": (784, 50), "b1": (50,), "W2": (50, 10), "b2": (10,)}
    assert list(net.layers) == ["Affine1", "Relu1", "Affine2"]
    assert [type(v) for v in net.layers.values()] == [Affine, Relu, Affine]
    assert isinstance(net.lastLayer, SoftmaxWithLoss)
    assert net.layers["Affine2"].b is net.params["b2"], "the seed code's bug: Affine2 got b1"
    assert net.layers["Affine1"].W is net.params["W1"]
    assert net.params["W1"].std() == pytest.approx(0.01, rel=0.05)
    assert not net.params["b1"].any() and net.params["W1"].dtype == np.float64


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_backprop_matches_central_differences(activation: str) -> None:
    x, t = small_batch()
    net = TwoLayerNet(6, 5, 3, weight_init_std=1.0, activation=activation, seed=3)
    assert type(net.layers[f"{activation.capitalize()}1"]) is {"relu": Relu, "sigmoid": Sigmoid}[activation]
    numerical = net.numerical_gradient(x, t)
    backprop = {k: v.copy() for k, v in net.gradient(x, t).items()}
    # The loss is -log(y_t + 1e-7): its exact gradient is backprop's (y - t)/N scaled by y_t / (y_t + 1e-7),
    # which for the unlikely labels of a random net is a relative 1e-4 away from backprop's.
    exact = exact_gradient(net, x, t)
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(exact[key], numerical[key], rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(backprop[key], numerical[key], rtol=1e-3, atol=1e-8)


def test_one_hot_and_integer_labels_agree() -> None:
    x, t = small_batch()
    net = TwoLayerNet(6, 5, 3, weight_init_std=1.0, seed=1)
    one_hot = np.eye(3)[t]
    assert net.loss(x, t) == pytest.approx(net.loss(x, one_hot), abs=1e-15)
    g1, g2 = net.gradient(x, t), net.gradient(x, one_hot)
    for key in g1:
        np.testing.assert_allclose(g1[key], g2[key], atol=1e-15)
    assert net.accuracy(x, t) == net.accuracy(x, one_hot)


def test_value_and_gradient_returns_the_loss_of_its_own_pass() -> None:
    x, t = small_batch()
    net = TwoLayerNet(6, 5, 3, weight_init_std=1.0, seed=2)
    loss, grads = net.value_and_gradient(x, t)
    assert loss == pytest.approx(float(net.loss(x, t)))
    y = net.predict(x)
    p = np.exp(y - y.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(4), t] + 1e-7)))


def test_updating_params_in_place_moves_the_layers() -> None:
    x, t = small_batch()
    net = TwoLayerNet(6, 5, 3, weight_init_std=1.0, seed=2)
    before = float(net.loss(x, t))
    grads = net.gradient(x, t)
    for key in ("W1", "b1", "W2", "b2"):
        net.params[key] -= 0.1 * grads[key]  # the book's update, with grad[key]
    assert float(net.loss(x, t)) < before


def test_accuracy_counts_top_scores() -> None:
    net = TwoLayerNet(2, 2, 2, seed=0)
    net.params["W1"][:] = np.eye(2)
    net.params["W2"][:] = np.eye(2)
    x = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    assert net.accuracy(x, np.array([0, 1, 1, 1])) == 0.75
    assert net.accuracy(x, np.array([0, 1, 1, 1]), chunk=3) == 0.75


def test_numerical_gradient_restores_its_input() -> None:
    x = np.array([1.0, 2.0, 3.0])
    g = numerical_gradient(lambda v: float(np.sum(v**2)), x)
    np.testing.assert_allclose(g, [2.0, 4.0, 6.0])
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_weight_init_xavier_he_and_seed() -> None:
    assert init_std("xavier", 784) == pytest.approx(1 / 28)
    assert init_std("he", 50) == pytest.approx(0.2)
    assert init_std(0.5, 10) == 0.5
    net = TwoLayerNet(784, 100, 10, "he", seed=4)
    assert net.params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.03)
    assert net.params["W2"].std() == pytest.approx(np.sqrt(2 / 100), rel=0.1)
    a, b = TwoLayerNet(5, 4, 3, seed=9), TwoLayerNet(5, 4, 3, seed=9, dtype=np.float32)
    assert np.array_equal(a.params["W1"].astype(np.float32), b.params["W1"])
    assert b.params["W2"].dtype == np.float32
    with pytest.raises(ValueError, match="xavier"):
        TwoLayerNet(5, 4, 3, "glorot")
    with pytest.raises(ValueError, match="relu, sigmoid"):
        TwoLayerNet(5, 4, 3, activation="tanh")


def test_save_load_and_copy(tmp_path: Path) -> None:
    x, t = small_batch()
    net = TwoLayerNet(6, 5, 3, weight_init_std="xavier", activation="sigmoid", dtype=np.float32, seed=5)
    net.save(tmp_path / "net.npz")
    back = TwoLayerNet.load(tmp_path / "net.npz")
    assert back.config == net.config == {"input_size": 6, "hidden_size": 5, "output_size": 3, "weight_init": "xavier",
                                         "activation": "sigmoid", "dtype": "float32"}
    assert back.params["W1"].dtype == np.float32 and list(back.layers) == ["Affine1", "Sigmoid1", "Affine2"]
    np.testing.assert_array_equal(back.predict(x), net.predict(x))
    twin = net.copy()
    net.params["b2"][0] += 1  # (a shift of every score alike would leave the loss unchanged)
    assert not twin.params["b2"].any() and twin.layers["Affine2"].b is twin.params["b2"]
    assert float(twin.loss(x, t)) != float(net.loss(x, t))


def _assert_same_evaluation(a: dict, b: dict, rtol: float) -> None:
    assert a["order"] == b["order"] and a["output"] == b["output"] and a["warnings"] == b["warnings"] == []
    assert [(e["from"], e["to"], e["slot"]) for e in a["edges"]] == [(e["from"], e["to"], e["slot"]) for e in b["edges"]]
    for nid in a["order"]:
        na, nb = a["nodes"][nid], b["nodes"][nid]
        assert (na["op"], na["shape"]) == (nb["op"], nb["shape"]), nid
        np.testing.assert_allclose(nb["value"], na["value"], rtol=rtol, atol=1e-12, err_msg=nid)
        if na["grad"] is None:
            assert nb["grad"] is None, nid
        else:
            np.testing.assert_allclose(nb["grad"], na["grad"], rtol=rtol, atol=1e-9, err_msg=nid)
    for ea, eb in zip(a["edges"], b["edges"]):
        np.testing.assert_allclose(eb["value"], ea["value"], rtol=rtol, atol=1e-12)
        if ea["grad"] is not None:
            np.testing.assert_allclose(eb["grad"], ea["grad"], rtol=rtol, atol=1e-9)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-4)])
def test_describe_is_what_the_engine_answers_for_to_graph(mnist_images: tuple, dtype: type, rtol: float) -> None:
    x, t = mnist_images
    net = TwoLayerNet(784, 50, 10, seed=1, dtype=dtype)
    for i in range(10):  # a few steps, so the ReLU mask and the gradients are not trivial
        net.params["W1"] -= 0.5 * net.gradient(x[:100], t[:100])["W1"]
    graph = net.to_graph(x[0], int(t[0]))
    assert [n["id"] for n in graph["nodes"]] == ["x", "W1", "b1", "W2", "b2", "t", "Affine1", "Relu1", "Affine2",
                                                 "SoftmaxWithLoss"]
    engine = evaluation_to_json(evaluate(graph))
    ours = net.describe(x[0], int(t[0]))
    _assert_same_evaluation(engine, ours, rtol)
    assert engine["nodes"]["W1"]["shape"] == [784, 50] and engine["nodes"]["t"]["grad"] is None
    assert engine["nodes"]["SoftmaxWithLoss"]["grad"] == 1.0
    assert ours["nodes"]["SoftmaxWithLoss"]["value"] == pytest.approx(float(net.loss(x[:1], t[:1])), rel=1e-6)
    # dL/dW1 of one image through the graph is the net's own gradient for that image
    np.testing.assert_allclose(ours["nodes"]["W1"]["grad"], net.gradient(x[:1], t[:1])["W1"], rtol=1e-5, atol=1e-9)
    # without a label the graph ends at the scores
    _assert_same_evaluation(evaluation_to_json(evaluate(net.to_graph(x[1]))), net.describe(x[1]), rtol)


def test_describe_with_a_one_hot_label_is_what_the_engine_answers() -> None:
    x, _ = small_batch()
    net = TwoLayerNet(6, 5, 3, weight_init_std=1.0, seed=0)
    one_hot = [0.0, 1.0, 0.0]
    engine = evaluation_to_json(evaluate(net.to_graph(x[0], one_hot)))
    ours = net.describe(x[0], one_hot)
    assert engine["nodes"]["t"]["grad"] is not None  # one-hot targets get dL/dt = -log(y + 1e-7)
    _assert_same_evaluation(engine, ours, 1e-12)


def test_describe_is_fast(mnist_images: tuple) -> None:
    x, t = mnist_images
    net = TwoLayerNet(784, 50, 10, seed=1, dtype=np.float32)
    best = float("inf")
    for _ in range(15):
        start = time.perf_counter()
        net.describe(x[0], int(t[0]))
        best = min(best, time.perf_counter() - start)
    assert best < 0.005, f"one image's forward + backward + encoding took {best * 1e3:.2f} ms"


def test_from_params_holds_the_given_weights() -> None:
    src = TwoLayerNet(6, 5, 3, seed=1, dtype=np.float32)
    net = TwoLayerNet.from_params(src.params, {"activation": "relu"})
    assert net.params["W1"] is src.params["W1"] and net.layers["Affine1"].W is src.params["W1"]
    assert net.config["hidden_size"] == 5 and net.config["dtype"] == "float32"
    x, _ = small_batch()
    np.testing.assert_array_equal(net.predict(x), src.predict(x))
    with pytest.raises(ValueError, match="b2 has shape"):
        TwoLayerNet.from_params({**src.params, "b2": np.zeros(4)})


def test_load_rejects_arrays_that_do_not_match_the_config(tmp_path: Path) -> None:
    net = TwoLayerNet(6, 5, 3, seed=1)
    net.config["hidden_size"] = 7
    net.save(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="do not match"):
        TwoLayerNet.load(tmp_path / "bad.npz")


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accuracy_agrees_with_predict(mnist_images: tuple, activation: str, dtype: type) -> None:
    x, t = mnist_images
    net = TwoLayerNet(784, 30, 10, weight_init_std=0.3, activation=activation, dtype=dtype, seed=6)
    expected = float(np.mean(np.argmax(net.predict(x), axis=1) == t))
    assert 0.05 < expected < 0.5  # an untrained net: right by chance, so ties or slips would show
    for chunk in (1, 77, 1000, 4096):
        assert net.accuracy(x, t, chunk=chunk) == expected
    assert net.accuracy(x, np.eye(10)[t]) == expected
