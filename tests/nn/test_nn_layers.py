"""The book's layer classes, called exactly as the book's code calls them, give the book's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from app.graph.ops import REGISTRY
from app.nn.layers import Affine, AddLayer, MulLayer, Relu, Sigmoid, SoftmaxWithLoss


def test_buy_apple() -> None:
    # Section 5.4.1, buy_apple.py
    apple, apple_num, tax = 100, 2, 1.1
    mul_apple_layer = MulLayer()
    mul_tax_layer = MulLayer()
    apple_price = mul_apple_layer.forward(apple, apple_num)
    price = mul_tax_layer.forward(apple_price, tax)
    dprice = 1
    dapple_price, dtax = mul_tax_layer.backward(dprice)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)
    # The book prints: 220.00000000000003 / 2.2 110.00000000000001 200
    assert float(price) == 100 * 2 * 1.1 == 220.00000000000003
    assert (float(dapple), float(dapple_num), float(dtax)) == (2.2, 110.00000000000001, 200.0)


def test_buy_apple_orange() -> None:
    # Section 5.4.2, buy_apple_orange.py
    apple, apple_num, orange, orange_num, tax = 100, 2, 150, 3, 1.1
    mul_apple_layer, mul_orange_layer = MulLayer(), MulLayer()
    add_apple_orange_layer, mul_tax_layer = AddLayer(), MulLayer()
    apple_price = mul_apple_layer.forward(apple, apple_num)
    orange_price = mul_orange_layer.forward(orange, orange_num)
    all_price = add_apple_orange_layer.forward(apple_price, orange_price)
    price = mul_tax_layer.forward(all_price, tax)
    dprice = 1
    dall_price, dtax = mul_tax_layer.backward(dprice)
    dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)
    dorange, dorange_num = mul_orange_layer.backward(dorange_price)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)
    # The book prints: 715.0000000000001 / 110.00000000000001 2.2 3.3000000000000003 165.0 650
    assert float(price) == pytest.approx(715)
    got = [float(v) for v in (dapple_num, dapple, dorange, dorange_num, dtax)]
    assert got == [110.00000000000001, 2.2, 3.3000000000000003, 165.0, 650.0]


def test_relu_returns_and_masks_without_touching_dout() -> None:
    x = np.array([[1.0, -0.5], [-2.0, 3.0]])  # the book's example
    relu = Relu()
    out = relu.forward(x)
    assert out is not None and out.tolist() == [[1.0, 0.0], [0.0, 3.0]]
    assert relu.mask.tolist() == [[False, True], [True, False]]
    dout = np.array([[5.0, 6.0], [7.0, 8.0]])
    assert relu.backward(dout).tolist() == [[5.0, 0.0], [0.0, 8.0]]
    assert dout.tolist() == [[5.0, 6.0], [7.0, 8.0]], "the caller's dout must not change"
    assert x.tolist() == [[1.0, -0.5], [-2.0, 3.0]]


def test_sigmoid_backward_is_y_times_one_minus_y() -> None:
    x = np.array([-3.0, 0.0, 0.5, 4.0])
    layer = Sigmoid()
    y = layer.forward(x)
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(layer.out, y)
    dout = np.array([1.0, 2.0, -1.0, 0.5])
    np.testing.assert_allclose(layer.backward(dout), dout * y * (1 - y))


def test_affine_batch_of_two() -> None:
    # Section 5.6.2: X (2, 2) . W (2, 3) + B; dY = [[1, 2, 3], [4, 5, 6]] gives dB = [5, 7, 9]
    W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([1.0, 2.0, 3.0])
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer = Affine(W, b)
    assert layer.forward(x).tolist() == [[10.0, 14.0, 18.0], [20.0, 28.0, 36.0]]
    dY = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    dx = layer.backward(dY)
    assert layer.db.tolist() == [5.0, 7.0, 9.0]
    assert layer.dW.tolist() == (x.T @ dY).tolist()
    assert dx.tolist() == (dY @ W.T).tolist()
    assert layer.W is W and layer.b is b and layer.x is x


def test_affine_can_skip_dx() -> None:
    W, b = np.ones((3, 2)), np.zeros(2)
    layer = Affine(W, b, input_grad=False)
    layer.forward(np.ones((4, 3)))
    assert layer.backward(np.ones((4, 2))) is None
    assert layer.dW.tolist() == [[4.0, 4.0]] * 3 and layer.db.tolist() == [4.0, 4.0]


def test_softmax_with_loss_gradient_is_y_minus_t_over_n() -> None:
    # Section 5.6.3: softmax output (0.3, 0.2, 0.5) and label (0, 1, 0) -> gradient (0.3, -0.8, 0.5)
    x = np.log(np.array([[0.3, 0.2, 0.5]]))
    for t in (np.array([[0.0, 1.0, 0.0]]), np.array([1])):
        layer = SoftmaxWithLoss()
        loss = layer.forward(x, t)
        assert float(loss) == pytest.approx(-np.log(0.2 + 1e-7))
        np.testing.assert_allclose(layer.y, [[0.3, 0.2, 0.5]])
        np.testing.assert_allclose(layer.backward(), [[0.3, -0.8, 0.5]])


def test_layers_run_the_registry_ops() -> None:
    """One autodiff core: each layer is the ctx of the op of the same name."""
    for cls, name in ((MulLayer, "mul"), (AddLayer, "add"), (Relu, "relu"), (Sigmoid, "sigmoid"),
                      (SoftmaxWithLoss, "softmax_with_loss")):
        assert cls().op is REGISTRY[name]
    assert Affine(np.ones((1, 1)), np.zeros(1)).op is REGISTRY["affine"]


def test_float32_in_float32_out() -> None:
    W, b = np.ones((3, 2), np.float32), np.zeros(2, np.float32)
    layer = Affine(W, b)
    y = layer.forward(np.ones((4, 3), np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones((4, 2), np.float32)).dtype == np.float32
    assert layer.dW.dtype == np.float32
