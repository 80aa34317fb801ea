"""tests/hardening: prints how many schemathesis cases ran (helpers live in support/hardening.py)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from support.hardening import FUZZ_CASES, FUZZ_SECONDS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FUZZ_CASES:
        return
    counts = {op: sum(statuses.values()) for op, statuses in FUZZ_CASES.items()}
    statuses = sum(FUZZ_CASES.values(), Counter())
    terminalreporter.write_line(f"schemathesis: {sum(counts.values())} cases over {len(counts)} operations "
                                f"(fewest {min(counts.values())}, most {max(counts.values())}); status codes: "
                                + ", ".join(f"{code} x{n}" for code, n in sorted(statuses.items())))
    if terminalreporter.config.option.verbose > 0:
        for op, by_status in sorted(FUZZ_CASES.items()):
            terminalreporter.write_line(f"  {op}: {FUZZ_SECONDS.get(op, 0):.1f} s; "
                                        + ", ".join(f"{c} x{n}" for c, n in sorted(by_status.items())))

