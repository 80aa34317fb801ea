"""Expression text -> graph JSON, by a tokenizer and a precedence-climbing parser (never eval).

Grammar, loosest first: ``+ -``, then ``* / @``, then unary minus, then ``**`` (right-associative,
so ``-x ** 2`` is ``-(x ** 2)`` as in Python), then numbers, names, ``( )`` and calls ``op(a, b, axis=0)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import GraphError, LimitError
from .limits import DEFAULT_LIMITS, Limits
from .ops import REGISTRY

TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>\*\*|[-+*/@(),=]))")
BINARY = {"+": (1, "add"), "-": (1, "sub"), "*": (2, "mul"), "/": (2, "div"), "@": (2, "matmul")}
MAX_DEPTH = 64  # each level costs ~7 Python frames; this stays far from the recursion limit


class ExpressionError(GraphError):
    def __init__(self, message: str, column: int, **extra: Any) -> None:
        super().__init__(f"{message} (column {column})", None, "expression", column=column, **extra)


@dataclass
class Token:
    kind: str  # num | name | op | end
    text: str
    column: int  # 1-based


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ExpressionError(f"unexpected character {text[col - 1]!r}", col)
        kind = m.lastgroup or "op"
        tokens.append(Token(kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


class Parser:
    def __init__(self, text: str, values: dict[str, Any], limits: Limits) -> None:
        self.tokens, self.i, self.depth = tokenize(text), 0, 0
        self.values, self.limits = values, limits
        self.nodes: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, int] = {}

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self, text: str | None = None) -> Token:
        tok = self.tok
        if text is not None and tok.text != text:
            found = "the end" if tok.kind == "end" else repr(tok.text)
            raise ExpressionError(f"expected {text!r} but found {found}", tok.column)
        self.i += 1
        return tok

    def add(self, op: str, inputs: list[str], params: dict[str, Any] | None = None) -> str:
        self.counts[op] = self.counts.get(op, 0) + 1
        nid = f"{op}{self.counts[op]}"
        # Variable names are reserved even before their first use: an op called "add1" must not become the
        # node a later variable add1 resolves to (that silently built another graph).
        while nid in self.nodes or nid in self.values:
            nid += "_"
        self.nodes[nid] = {"id": nid, "op": op, "inputs": inputs, **({"params": params} if params else {})}
        if len(self.nodes) > self.limits.max_nodes:
            raise LimitError(f"the expression makes more than {self.limits.max_nodes} nodes", "max_nodes", self.limits.max_nodes, None, "expression")
        return nid

    def parse(self) -> str:
        if self.tok.kind == "end":
            raise ExpressionError("the expression is empty", 1)
        root = self.binary(1)
        if self.tok.kind != "end":
            raise ExpressionError(f"unexpected {self.tok.text!r}", self.tok.column)
        return root

    def binary(self, level: int) -> str:
        left = self.unary() if level == 3 else self.binary(level + 1)
        while self.tok.kind == "op" and self.tok.text in BINARY and BINARY[self.tok.text][0] == level:
            op = BINARY[self.take().text][1]
            left = self.add(op, [left, self.binary(level + 1)])
        return left

    def unary(self) -> str:
        if self.tok.text == "-" and self.tok.kind == "op":
            minus = self.take()
            if self.tok.kind == "num" and self.tokens[self.i + 1].text != "**":
                return self.constant("-" + self.take().text, minus.column)
            return self.add("neg", [self.nested(self.unary)])
        if self.tok.text == "+" and self.tok.kind == "op":
            self.take()
            return self.nested(self.unary)
        return self.power()

    def power(self) -> str:
        base = self.atom()
        if self.tok.text != "**":
            return base
        star = self.take()
        negative = self.tok.text == "-" and bool(self.take())
        if self.tok.kind != "num":
            raise ExpressionError("the exponent after ** must be a number", self.tok.column if self.tok.kind != "end" else star.column)
        exponent = float(self.take().text) * (-1 if negative else 1)
        if self.tok.text == "**":
            raise ExpressionError("chained ** needs parentheses", self.tok.column)
        return self.add("square", [base]) if exponent == 2 else self.add("pow", [base], {"exponent": exponent})

    def nested(self, rule: Any) -> str:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels", self.tok.column)
        try:
            return rule()
        finally:
            self.depth -= 1

    def atom(self) -> str:
        tok = self.tok
        if tok.kind == "num":
            return self.constant(self.take().text, tok.column)
        if tok.text == "(":
            self.take()
            inner = self.nested(lambda: self.binary(1))
            self.take(")")
            return inner
        if tok.kind == "name":
            self.take()
            return self.call(tok) if self.tok.text == "(" else self.variable(tok)
        found = "the end of the expression" if tok.kind == "end" else repr(tok.text)
        raise ExpressionError(f"expected a number, a name or '(' but found {found}", tok.column)

    def constant(self, text: str, column: int) -> str:
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ExpressionError(f"the number {text} is too large", column)
        nid = text
        self.nodes.setdefault(nid, {"id": nid, "op": "const", "value": value})
        return nid

    def variable(self, tok: Token) -> str:
        if tok.text not in self.values:
            raise ExpressionError(f"the variable '{tok.text}' has no value", tok.column, variable=tok.text)
        self.nodes.setdefault(tok.text, {"id": tok.text, "op": "input", "value": self.values[tok.text]})
        return tok.text

    def call(self, name: Token) -> str:
        op = REGISTRY.get(name.text)
        if op is None or op.arity == 0:
            callable_ops = ", ".join(n for n, o in REGISTRY.items() if o.arity)
            raise ExpressionError(f"unknown function '{name.text}' (functions: {callable_ops})", name.column)
        self.take("(")
        args: list[str] = []
        params: dict[str, Any] = {}
        while self.tok.text != ")":
            if args or params:
                self.take(",")
            if self.tok.kind == "name" and self.tokens[self.i + 1].text == "=":
                key = self.take()
                self.take("=")
                params[key.text] = self.param_value()
            else:
                args.append(self.nested(lambda: self.binary(1)))
        self.take(")")
        if len(args) != op.arity:
            raise ExpressionError(f"{op.name}() takes {op.arity} argument(s) ({', '.join(op.inputs)}), got {len(args)}", name.column)
        return self.add(op.name, args, params or None)

    def param_value(self) -> Any:
        sign = -1 if self.tok.text == "-" and self.take() else 1
        tok = self.take()
        if tok.kind == "num":
            v = float(tok.text) * sign
            return int(v) if v.is_integer() and "." not in tok.text and "e" not in tok.text.lower() else v
        if tok.kind == "name" and tok.text in ("true", "false", "null", "None"):
            return {"true": True, "false": False}.get(tok.text)
        raise ExpressionError("a keyword argument takes a number, true, false or null", tok.column)


def parse_expression(text: str, values: dict[str, Any] | None = None, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The graph JSON for ``text``; each variable is one input node however often it is used (fan-out)."""
    if len(text) > limits.max_expression_length:
        raise LimitError(f"the expression has {len(text)} characters", "max_expression_length", limits.max_expression_length, None, "expression")
    parser = Parser(text, values or {}, limits)
    root = parser.parse()
    return {"nodes": list(parser.nodes.values()), "output": root}
