"""The restricted script environment: what scripts may do, and what they may not."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from workflows import ScriptError, WorkflowEngine, WorkflowScriptError
from workflows.scripts import RestrictedEnvironment, check_script


@pytest.fixture()
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment()


def run(env: RestrictedEnvironment, script: str, **data: Any) -> dict[str, Any]:
    env.execute(script, data)
    return data


def test_scripts_compute_with_helpers_and_builtins(env: RestrictedEnvironment) -> None:
    script = """
total = sum(amounts)
ok = is_valid_iban(iban) and is_valid_ssn(ssn)
due = add_days('2024-01-30', 3)
pairs = sorted([(k, v) for k, v in {'b': 2, 'a': 1}.items()])
count = 0
for a, b in pairs:
    count += b
money = str(round(Decimal('10.005') * 2, 2))
rate = max(0.4, min(0.9, 1000 / income))
"""
    data = run(env, script, amounts=[1, 2, 3], iban="FR7630006000011234567890189", ssn="269054958815780", income=2000)
    assert data["total"] == 6
    assert data["ok"] is True
    assert data["due"] == "2024-02-02"
    assert data["pairs"] == [["a", 1], ["b", 2]] or data["pairs"] == [("a", 1), ("b", 2)]
    assert data["count"] == 3
    assert data["money"] == str(round(Decimal("10.005") * 2, 2))
    assert data["rate"] == 0.5
    # helpers and builtins do not leak into the task data
    assert "is_valid_iban" not in data and "Decimal" not in data


def test_expressions_evaluate_against_data(env: RestrictedEnvironment) -> None:
    assert env.evaluate("days > 3 and approved == true", {"days": 4, "approved": True}) is True
    assert env.evaluate("len(items)", {"items": [1, 2]}) == 2


@pytest.mark.parametrize("script", [
    "import os",
    "from os import path",
    "x = __import__('os')",
    "x = ().__class__",
    "x = ''.__class__.__mro__",
    "x = open('/etc/passwd').read()",
    "x = eval('1')",
    "x = exec('y = 1')",
    "x = getattr(1, '__class__')",
    "x = globals()",
    "import socket\ns = socket.socket()",
    "x = '{0.__class__}'.format(1)",
])
def test_forbidden_scripts_fail(env: RestrictedEnvironment, script: str) -> None:
    with pytest.raises(Exception) as info:
        env.execute(script, {})
    # never a successful escape: either refused at compile time or failing at run time
    assert isinstance(info.value, (ScriptError, NameError, AttributeError, TypeError, NotImplementedError))


@pytest.mark.parametrize("script", ["import os", "x = ().__class__", "total = (1 +"])
def test_forbidden_constructs_are_refused_at_deploy_time(script: str) -> None:
    with pytest.raises(ScriptError):
        check_script(script)


def test_open_is_not_a_builtin(env: RestrictedEnvironment) -> None:
    with pytest.raises(NameError, match="open"):
        env.execute("f = open('x', 'w')", {})


def test_variables_must_be_json_serializable(env: RestrictedEnvironment) -> None:
    with pytest.raises(ScriptError, match="when"):
        env.execute("when = date(2024, 1, 1)", {})
    data = run(env, "when = date(2024, 1, 1).isoformat()")
    assert data["when"] == "2024-01-01"


def test_functions_defined_by_scripts_are_dropped(env: RestrictedEnvironment) -> None:
    data = run(env, "def double(x):\n    return 2 * x\nresult = double(21)")
    assert data == {"result": 42}


def test_data_named_like_a_helper_wins(env: RestrictedEnvironment) -> None:
    data = run(env, "label = 'due ' + date", date="2024-05-01")
    assert data == {"date": "2024-05-01", "label": "due 2024-05-01"}


def test_deleted_variables_disappear(env: RestrictedEnvironment) -> None:
    assert run(env, "del scratch", scratch=1, keep=2) == {"keep": 2}


def test_attribute_writes_are_refused(env: RestrictedEnvironment) -> None:
    with pytest.raises(TypeError):
        env.execute("d = timedelta(days=1)\nd.days = 3", {})


def test_script_engine_names_the_element(engine: WorkflowEngine) -> None:
    class FakeSpec:
        bpmn_id = "Activity_x"
        name = "Activity_x"

    class FakeTask:
        def __init__(self) -> None:
            self.task_spec = FakeSpec()
            self.data: dict[str, Any] = {}

    with pytest.raises(WorkflowScriptError) as info:
        engine.script_engine.execute(FakeTask(), "y = undefined_name + 1")
    assert info.value.element_id == "Activity_x"
    assert "undefined_name" in info.value.message
    with pytest.raises(WorkflowScriptError) as info:
        engine.script_engine.evaluate(FakeTask(), "amount > 0")
    assert info.value.element_id == "Activity_x" and "amount" in info.value.message


def test_print_is_accepted_and_discarded(env: RestrictedEnvironment) -> None:
    assert run(env, "print('debug', 1)\nx = 2") == {"x": 2}
