"""`guichet web`: the gunicorn command line it runs, and bad sizes refused before anything starts."""
from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from app import cli


def test_web_runs_gunicorn_with_the_processes_and_threads_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(cli.os, "execvp", lambda _file, argv: calls.append(list(argv)))
    result = CliRunner().invoke(cli.main, ["web", "--port", "5077", "--workers", "3", "--threads", "1"])
    assert result.exit_code == 0, result.output
    [argv] = calls
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:5077"
    assert argv[argv.index("--workers") + 1] == "3" and argv[argv.index("--threads") + 1] == "1"
    assert argv[-1] == "app.wsgi:application"


@pytest.mark.parametrize("args", [["--threads", "0"], ["--workers", "0"], ["--threads", "many"]])
def test_web_refuses_a_size_that_cannot_serve(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    started: list[Any] = []
    monkeypatch.setattr(cli.os, "execvp", lambda *a: started.append(a))
    result = CliRunner().invoke(cli.main, ["web", *args])
    assert result.exit_code == 2 and not started
    assert "Invalid value" in result.output
