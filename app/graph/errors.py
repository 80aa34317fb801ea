"""What the graph package raises: plain exceptions that the API turns into 4xx answers."""

from __future__ import annotations

from typing import Any


class GraphError(ValueError):
    """A graph that cannot be evaluated; names the node and the field at fault."""

    status = 422

    def __init__(self, message: str, node: str | None = None, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message, self.node, self.field, self.extra = message, node, field, extra

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "field": self.field, "message": self.message, **self.extra}


class LimitError(GraphError):
    """A configured size limit was exceeded; names the limit and its value."""

    status = 413

    def __init__(self, message: str, limit: str, value: int, node: str | None = None, field: str | None = None) -> None:
        super().__init__(f"{message} (limit {limit} = {value})", node=node, field=field, limit=limit, limit_value=value)
