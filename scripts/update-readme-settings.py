"""Rewrite the configuration table of README.md from app/config.py (run after adding a setting)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import settings_table  # noqa: E402

readme = ROOT / "README.md"
text = readme.read_text()
table = re.compile(r"\| variable \| default \| meaning \|\n\|---\|---\|---\|\n(?:\|.*\|\n)+")
if not table.search(text):
    raise SystemExit("README.md has no configuration table to replace")
readme.write_text(table.sub(lambda _m: settings_table() + "\n", text, count=1))
print("README.md configuration table updated")
