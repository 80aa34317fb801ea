"""The lessons: chapter 5 in order, each with the graphs it draws and the question it asks.

Only what is not prose lives here: the order, the book's section, the graphs
each lesson embeds and how a student's prediction is checked. Every text is in
the browser's message catalogues (static/js/messages/lessons*.js) under
``lesson.<slug>.*``, in English and Chinese.

A question is answered by the engine, not by a number typed in here: the
browser changes the view's graph as ``set`` says, evaluates it through the API
and reads ``ask`` off the result. Only questions that no graph answers (how
many iterations make an epoch) carry a fixed ``answer``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from app.graph.examples import get_example
from app.nn.gradcheck import DEFAULT_SEED, KINK_SEED
from app.nn.two_layer_net import TwoLayerNet


@dataclass(frozen=True)
class View:
    """A live graph: the engine's graph JSON, drawn by the editor's view module."""

    graph: dict[str, Any]
    example: str | None = None  # the name in app.graph.examples it comes from, if any
    edit: tuple[str, ...] | None = None  # leaves with an input field; None: every leaf
    tables: tuple[str, ...] = ()  # nodes whose value and gradient are also shown as full matrices
    check: bool = False  # gradient check on: backprop beside central differences at every leaf
    sgd: float | None = None  # a "one gradient step" button with this learning rate
    entries: int = 3  # how many entries of a matrix an edge label shows (the tables show all)


@dataclass(frozen=True)
class Question:
    """A prediction the student types before the answer is shown."""

    ask: tuple[str, str] = ("grad", "")  # ("grad" | "value", node id)
    view: int = 0  # which of the lesson's views
    set: dict[str, Any] = field(default_factory=dict)  # leaf values changed first; empty: the view as shown (answer hidden)
    index: tuple[int, ...] = ()  # one entry of a matrix
    reduce: str | None = None  # "sum": the entries added up
    tolerance: float = 0.01  # accepted absolute difference
    answer: float | None = None  # fixed answer for a question no graph answers


@dataclass(frozen=True)
class Lesson:
    slug: str
    section: str  # the book's section numbers, e.g. "5.3.1–5.3.2"
    views: tuple[View, ...]
    question: Question
    extra: str | None = None  # "train": a small live training run; "gradcheck": the book's check, on a button
    train: dict[str, Any] | None = None  # the run's config for POST /api/runs
    gradcheck: dict[str, int] | None = None  # weight seeds for POST /api/gradient-check: clean, and on a ReLU kink

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["question"]["ask"] = {"kind": self.question.ask[0], "node": self.question.ask[1]}
        return data


def _example(name: str, **changes: Any) -> View:
    graph = get_example(name)
    graph.update(changes)
    return View(graph=graph, example=name)


def _in(nid: str, value: Any) -> dict[str, Any]:
    return {"id": nid, "op": "input", "value": value}


def _rounded(graph: dict[str, Any], decimals: int) -> dict[str, Any]:
    """Leaf values a student can read in an input field (log 0.3 = -1.204, not -1.2039728043259361)."""
    for node in graph["nodes"]:
        if "value" in node:
            node["value"] = np.round(np.asarray(node["value"], dtype=float), decimals).tolist()
    return graph


def _upstream(op: str) -> View:
    """The book's figures 5-9 and 5-12: one node, 10 and 5 in, 1.3 arriving from upstream."""
    return View(graph={"nodes": [_in("x", 10), _in("y", 5), {"id": "z", "op": op, "inputs": ["x", "y"]}],
                       "output": "z", "grad": 1.3})


def tiny_net() -> dict[str, Any]:
    """TwoLayerNet(4, 3, 3) drawn as its graph: two 4-pixel "images", one-hot labels, weights rounded to 0.1.

    Seed 1 keeps every hidden pre-activation at least 0.1 away from ReLU's kink,
    so the gradient check's central differences (h = 1e-4) agree with backprop.
    """
    net = TwoLayerNet(4, 3, 3, weight_init_std=0.5, seed=1)
    for key, value in net.params.items():
        net.params[key] = np.round(value, 1) + 0.0  # + 0.0: no "-0" in the drawing
    x = np.array([[0.9, 0.1, 0.8, 0.2], [0.1, 0.7, 0.2, 0.9]])
    t = np.array([[1, 0, 0], [0, 0, 1]])
    return net.to_graph(x, t)


LESSONS: tuple[Lesson, ...] = (
    Lesson("computation-graphs", "5.1",
           (_example("apple"), _example("local-computation")),
           Question(ask=("value", "price"), view=1, set={"others": 5000}, tolerance=0.5)),
    Lesson("chain-rule", "5.2",
           (_example("chain-rule"),),
           Question(ask=("grad", "x"), set={"y": 1})),
    Lesson("add-and-multiply", "5.3.1–5.3.2",
           (_upstream("add"), _upstream("mul")),
           Question(ask=("grad", "x"), view=1, set={"y": 3})),
    Lesson("shopping", "5.3.3, 5.4",
           (_example("apple"), _example("apple-orange")),
           Question(ask=("grad", "apple"), set={"tax": 2.2})),
    Lesson("relu", "5.5.1",
           (View(graph={**get_example("relu"), "grad": [[5, 6], [7, 8]]}, example="relu", tables=("x", "y")),),
           Question(ask=("grad", "x"), set={"x": [[1.0, -0.5], [2.0, 3.0]]}, index=(1, 0))),
    Lesson("sigmoid", "5.5.2",
           (View(graph=get_example("sigmoid-decomposed"), example="sigmoid-decomposed", edit=("x",)),
            View(graph={"nodes": [_in("x", 0.5), {"id": "y", "op": "sigmoid", "inputs": ["x"]}], "output": "y"})),
           Question(ask=("grad", "x"), view=1, set={"x": 0}, tolerance=0.005)),
    Lesson("affine", "5.6.1–5.6.2",
           (View(graph=get_example("affine-batch"), example="affine-batch", tables=("X", "W", "B", "Y")),),
           Question(ask=("grad", "B"), index=(2,))),
    Lesson("softmax-with-loss", "5.6.3",
           (View(graph=_rounded(get_example("softmax-with-loss"), 4), example="softmax-with-loss", tables=("a",)),),
           Question(ask=("grad", "a"), set={"t": [0, 0, 1]}, index=(2,))),
    Lesson("two-layer-net", "5.7.1–5.7.3",
           (View(graph=tiny_net(), edit=("x", "t"), tables=("b2",), check=True, entries=1),),
           Question(ask=("grad", "b2"), reduce="sum", tolerance=1e-3),
           extra="gradcheck", gradcheck={"clean": DEFAULT_SEED, "kink": KINK_SEED}),
    Lesson("training", "5.7.4",
           (View(graph=tiny_net(), edit=(), sgd=0.5, entries=1),),
           Question(answer=20, tolerance=0),
           extra="train",
           train={"iterations": 200, "batch_size": 100, "eval_every": 20, "learning_rate": 0.1,
                  "train_limit": 2000, "test_limit": 1000, "seed": 0}),
)

BY_SLUG = {lesson.slug: lesson for lesson in LESSONS}


def neighbours(slug: str) -> tuple[Lesson | None, Lesson | None]:
    """The lessons before and after this one, in the chapter's order."""
    i = [lesson.slug for lesson in LESSONS].index(slug)
    return (LESSONS[i - 1] if i > 0 else None, LESSONS[i + 1] if i + 1 < len(LESSONS) else None)
