"""The README a new user reads stays in line with the code."""
from __future__ import annotations

from pathlib import Path

from app.cli_support import DEMO_PASSWORD, DEMO_USERS
from app.config import SETTINGS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_lists_every_setting() -> None:
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in README]
    assert missing == []


def test_readme_shows_the_two_commands_and_demo_users() -> None:
    assert "make run" in README and "make test" in README
    assert f"**`{DEMO_PASSWORD}`**" in README
    for username, role, _queues, _name in DEMO_USERS:
        assert f"| `{username}` | {role} |" in README
