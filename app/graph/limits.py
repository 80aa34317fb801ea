"""Size limits for user graphs: every request is bounded in memory and time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_nodes: int = 1000
    max_tensor_elements: int = 100_000
    max_total_elements: int = 1_000_000
    max_rank: int = 8
    max_id_length: int = 100
    max_expression_length: int = 2000
    max_check_evaluations: int = 200_000  # perturbed elements x nodes re-evaluated, for ?check=true


DEFAULT_LIMITS = Limits()
