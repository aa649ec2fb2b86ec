"""Restricted script environment: BPMN scripts and expressions cannot import, touch dunders or do I/O."""
from __future__ import annotations

import ast
import functools
import json
import operator
import threading
import time
import types
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from .errors import ScriptError, WorkflowScriptError
from .helpers import HELPERS

# ----- budget: a script cannot loop forever or build huge values ------------------------------------
# Every loop iteration (for, while, comprehension) of one script or expression run counts against
# MAX_LOOP_ITERATIONS; the clock is read every few thousand iterations against MAX_SCRIPT_SECONDS.
# `+`, `*` and `**` refuse results larger than MAX_SEQUENCE_LENGTH items / MAX_INT_BITS bits, and
# range() longer than MAX_SEQUENCE_LENGTH. Work done inside one C call on data that passes those limits
# (str methods such as ljust with a huge width, sorting a large list) is not interrupted.
MAX_LOOP_ITERATIONS = 1_000_000
MAX_SCRIPT_SECONDS = 5.0
MAX_SEQUENCE_LENGTH = 10_000_000
MAX_INT_BITS = 100_000
_CHECK_EVERY = 4096


class ScriptBudgetError(ScriptError):
    """A script exceeded its loop, time or size budget."""


class _Budget:
    """Iterations left and deadline of the script running in this thread (one object per thread)."""

    __slots__ = ("check_at", "deadline", "left")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A fresh budget for the next run; the clock starts at the first check (cheap for short runs)."""
        self.left = MAX_LOOP_ITERATIONS
        self.check_at = self.left - _CHECK_EVERY
        self.deadline = 0.0


_running = threading.local()


def _check(budget: _Budget) -> None:
    """Raise when the running script used up its iterations or its time."""
    if budget.left < 0:
        raise ScriptBudgetError(f"the script ran more than {MAX_LOOP_ITERATIONS:,} loop iterations; "
                                "bound the loop (or move the work to a service task)")
    if not budget.deadline:
        budget.deadline = time.monotonic() + MAX_SCRIPT_SECONDS
    elif time.monotonic() > budget.deadline:
        raise ScriptBudgetError(f"the script ran longer than {MAX_SCRIPT_SECONDS:g} s; "
                                "bound the loop (or move the work to a service task)")
    budget.check_at = budget.left - _CHECK_EVERY


def _current() -> _Budget:
    budget = getattr(_running, "budget", None)
    if budget is None:  # first script of this thread
        budget = _running.budget = _Budget()
    return budget


def _start_budget() -> None:
    """Give the script about to run in this thread its full budget."""
    _current().reset()


def _loop_tick() -> None:
    """Called at the top of every `while` body."""
    budget = _current()
    budget.left -= 1
    if budget.left < budget.check_at:
        _check(budget)


def _guarded_iter(obj: Any) -> Any:
    """`for` loops and comprehensions: a sized iterable is charged at once, others item by item."""
    budget = _current()
    try:
        size = len(obj)
    except TypeError:
        return _counting(obj, budget)
    budget.left -= size
    if budget.left < budget.check_at or budget.left < 0:
        _check(budget)
    return iter(obj)


def _counting(obj: Any, budget: _Budget) -> Any:
    for item in obj:
        budget.left -= 1
        if budget.left < budget.check_at:
            _check(budget)
        yield item


_SEQUENCES = frozenset({str, bytes, list, tuple})
_INTS = frozenset({int, bool})


def _checked_mul(a: Any, b: Any) -> Any:
    """`a * b`, refusing to repeat a sequence into more than MAX_SEQUENCE_LENGTH items."""
    ta, tb = type(a), type(b)
    if (ta in _SEQUENCES and tb in _INTS) or (tb in _SEQUENCES and ta in _INTS):
        size = len(a) * b if ta in _SEQUENCES else len(b) * a
        if size > MAX_SEQUENCE_LENGTH:
            raise ScriptBudgetError(f"a value of {size:,} items is larger than the "
                                    f"{MAX_SEQUENCE_LENGTH:,} a script may build")
    return a * b


def _checked_add(a: Any, b: Any) -> Any:
    """`a + b`, refusing to concatenate sequences into more than MAX_SEQUENCE_LENGTH items."""
    ta = type(a)
    if ta in _SEQUENCES and ta is type(b) and len(a) + len(b) > MAX_SEQUENCE_LENGTH:
        raise ScriptBudgetError(f"a value of {len(a) + len(b):,} items is larger than the "
                                f"{MAX_SEQUENCE_LENGTH:,} a script may build")
    return a + b


def _checked_pow(a: Any, b: Any) -> Any:
    """`a ** b`, refusing integers of more than MAX_INT_BITS bits."""
    if type(a) in _INTS and type(b) in _INTS and b > 0 and abs(a) > 1 and b * abs(a).bit_length() > MAX_INT_BITS:
        raise ScriptBudgetError(f"{a} ** {b} is larger than the {MAX_INT_BITS:,}-bit integers a script may build")
    return a ** b


def _checked_range(*args: Any) -> range:
    """range() of at most MAX_SEQUENCE_LENGTH numbers."""
    numbers = range(*args)
    if len(numbers) > MAX_SEQUENCE_LENGTH:
        raise ScriptBudgetError(f"range of {len(numbers):,} numbers is longer than the {MAX_SEQUENCE_LENGTH:,} "
                                "a script may use")
    return numbers


class _BudgetTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus the budget: a tick in every `while` body, `+`, `*` and `**` checked."""

    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)
        tick = ast.Expr(ast.Call(func=ast.Name("_loop_tick_", ast.Load()), args=[], keywords=[]))
        copy_locations(tick, node)
        node.body.insert(0, tick)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = super().visit_BinOp(node)
        name = {ast.Add: "_add_", ast.Mult: "_mul_", ast.Pow: "_pow_"}.get(type(node.op))
        if name is None:
            return node
        call = ast.Call(func=ast.Name(name, ast.Load()), args=[node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call


_INPLACE_OPS = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    """Augmented assignment (x += 1) as RestrictedPython rewrites it; `*=` and `**=` within the budget."""
    if op == "+=":
        return _checked_add(target, value)
    if op == "*=":
        return _checked_mul(target, value)
    if op == "**=":
        return _checked_pow(target, value)
    try:
        return _INPLACE_OPS[op](target, value)
    except KeyError:
        raise ScriptError(f"operator {op} is not allowed") from None


def _build_builtins() -> dict[str, Any]:
    """RestrictedPython's safe builtins plus the harmless ones scripts need; no open/import/eval."""
    builtins = dict(safe_builtins)
    # Classes could be used to reach object internals through metaclass tricks: not needed in BPMN.
    builtins.pop("__build_class__", None)
    for fn in (min, max, sum, sorted, list, dict, tuple, set, frozenset, enumerate, zip, any, all,
               map, filter, reversed, isinstance):
        builtins[fn.__name__] = fn
    builtins.update({
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": _guarded_iter,
        "_loop_tick_": _loop_tick,
        "_add_": _checked_add,
        "_mul_": _checked_mul,
        "_pow_": _checked_pow,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplacevar,
        # print() in a script is accepted and its output discarded (debug prints are common).
        "_print_": PrintCollector,
        "range": _checked_range,
        "pow": lambda base, exp, mod=None: pow(base, exp, mod) if mod is not None else _checked_pow(base, exp),
    })
    return builtins


SAFE_GLOBALS: dict[str, Any] = {
    "datetime": datetime, "date": date, "timedelta": timedelta, "Decimal": Decimal,
    "round": round, "min": min, "max": max, "sum": sum, "len": len, "sorted": sorted, "abs": abs,
    "str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict,
    # Camunda/JUEL literals, so conditions written as `approved == true` still evaluate.
    "true": True, "false": False, "null": None,
    **HELPERS,
}


def check_script(source: str, mode: Literal["exec", "eval"] = "exec") -> None:
    """Raise ScriptError when source does not compile in the restricted dialect (deploy-time check)."""
    _compile(source, mode)


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: Literal["exec", "eval"]) -> types.CodeType:
    """Compile (and cache, thread-safely) restricted code; refuses import statements clearly."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ScriptError(f"syntax error line {exc.lineno}: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ScriptError(f"line {node.lineno}: import statements are not allowed")
    # The *_exec/_eval variants return RestrictedPython's warnings instead of emitting them
    # (e.g. "prints but never reads 'printed'" for scripts that print while debugging).
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(source, filename="<script>", policy=_BudgetTransformer)
    if result.errors or result.code is None:
        # Forbidden constructs (dunder names, exec, ...) are reported here as errors.
        raise ScriptError("; ".join(result.errors) or "script does not compile")
    return result.code


def _is_storable(value: Any) -> bool:
    """Functions and modules a script defines or imports are dropped instead of stored."""
    return not isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type))


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """A TaskDataEnvironment-like environment running RestrictedPython-compiled code."""

    def __init__(self, extra_globals: dict[str, Any] | None = None):
        super().__init__({**SAFE_GLOBALS, **(extra_globals or {})})
        self._builtins = _build_builtins()

    def _namespace(self, context: dict, external_context: dict | None) -> dict[str, Any]:
        """Globals for one run: builtins, helpers, then external context, then task data (data wins)."""
        namespace: dict[str, Any] = {"__builtins__": self._builtins, "__name__": "bpmn_script"}
        namespace.update(self.globals)
        if external_context:
            namespace.update(external_context)
        namespace.update(context)
        return namespace

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        """Evaluate an expression (gateway condition, DMN cell, timer, parameter) against task data."""
        code = _compile(expression.strip(), "eval")
        _start_budget()
        return eval(code, self._namespace(context, external_context))

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        """Run a script; the variables it leaves become the task data (must be JSON-serializable)."""
        code = _compile(script, "exec")
        namespace = self._namespace(context, external_context)
        _start_budget()
        exec(code, namespace)  # noqa: S102 - restricted code only
        injected = {"__builtins__": None, "__name__": None, **self.globals, **(external_context or {})}
        result = {}
        for name, value in namespace.items():
            if name in injected and name not in context and value is injected[name]:
                continue
            # Scripts cannot create names starting with "_": those are RestrictedPython's own helpers.
            if name.startswith("_") or not _is_storable(value):
                continue
            result[name] = value
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            bad = [k for k, v in result.items() if not _json_ok(v)]
            raise ScriptError(
                f"variables {', '.join(sorted(bad)) or '?'} are not JSON-serializable ({exc}); "
                "store strings (e.g. d.isoformat(), str(amount)) instead"
            ) from None
        context.clear()
        context.update(result)
        return True

    def call_service(self, context: dict, **kwargs: Any) -> Any:
        """Service tasks never run inside the engine: they are parked and run by a worker."""
        raise ScriptError("service calls are not executed in the engine")


def _json_ok(value: Any) -> bool:
    """True when value serializes to JSON."""
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _element_id(task: Any) -> str | None:
    """The BPMN id of the element a task runs, falling back to its spec name."""
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)


class RestrictedScriptEngine(PythonScriptEngine):
    """Script engine whose failures are WorkflowScriptError naming the BPMN element."""

    def __init__(self, environment: RestrictedEnvironment | None = None):
        super().__init__(environment or RestrictedEnvironment())

    def validate(self, expression: str) -> None:
        """Parse check used by the DMN engine to decide whether a cell needs '=='."""
        ast.parse(expression)

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        """Evaluate an expression in the task's context; errors name the element."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except WorkflowScriptError:
            raise
        except Exception as exc:  # any failure of user code becomes a script error
            raise WorkflowScriptError(_element_id(task), _describe(exc, expression)) from exc

    def execute(self, task: Any, script: str, external_context: dict | None = None) -> bool:
        """Run a script in the task's context; errors name the element."""
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except WorkflowScriptError:
            raise
        except Exception as exc:  # any failure of user code becomes a script error
            raise WorkflowScriptError(_element_id(task), _describe(exc, None)) from exc


def _describe(exc: BaseException, expression: str | None) -> str:
    """A short message for an exception raised by user code."""
    if isinstance(exc, ScriptError):
        text = str(exc)
    else:
        text = f"{exc.__class__.__name__}: {exc}"
    if expression is not None:
        text = f"{text} (in expression {expression.strip()[:200]!r})"
    return text
