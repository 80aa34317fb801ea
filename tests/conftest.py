"""Suite-wide: every test writes into a temporary data directory, never the user's home."""

from __future__ import annotations

import os
import tempfile

_DATA_DIR = tempfile.mkdtemp(prefix="backprop-lab-tests-")
os.environ.setdefault("BACKPROP_LAB_DATA_DIR", _DATA_DIR)
