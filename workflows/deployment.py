"""Deploy-time parsing and validation: every problem of every file is reported, not just the first."""
from __future__ import annotations

import re
import threading
from typing import Any, Literal

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from .errors import BpmnValidationError, ScriptError, ValidationIssue, WorkflowError
from .parser import (
    NSMAP,
    SPIFF_NS,
    AsyncServiceTask,
    GuichetParser,
    normalize_multi_instance,
)
from .routing import form_data_schema, pinned_version, searchable_variables, service_task_info, user_task_info
from .scripts import check_script
from .secure_xml import XmlRejectedError, parse_secure_xml
from .serializer import StateSerializer
from .views import ProcessModel

_XSD_LOCK = threading.Lock()
# Quartz/Spring cron (Camunda 7 timeCycle): five to seven fields of digits, *, ?, /, -, ',', L, W, #.
_CRON = re.compile(r"^\s*[\d*?/,\-LW#]+(\s+[\d*?/,\-LW#A-Za-z]+){4,6}\s*$")


_SPIFF_ELEMENT = "Element '{" + SPIFF_NS + "}"


def repair_io_specifications(root: Any) -> None:
    """Make bpmn-js style ioSpecifications schema-valid on the parse tree (the stored XML is untouched).

    The XSD wants at least one inputSet and one outputSet; bpmn-js based modelers (spiff-arena, Camunda
    Modeler) write `<ioSpecification/>` empty or with data inputs/outputs only. An empty one means nothing
    and is dropped; the others get the empty sets they lack.
    """
    bpmn = f"{{{NSMAP['bpmn']}}}"
    for io_spec in root.xpath(".//bpmn:ioSpecification", namespaces=NSMAP):
        if len([c for c in io_spec if isinstance(c.tag, str)]) == 0:
            if io_spec.getparent() is not None:
                io_spec.getparent().remove(io_spec)
            continue
        has_inputs = io_spec.find(bpmn + "inputSet") is not None
        has_outputs = io_spec.find(bpmn + "outputSet") is not None
        if not has_inputs:
            last_data = [c for c in io_spec if c.tag in (bpmn + "dataInput", bpmn + "dataOutput")]
            position = io_spec.index(last_data[-1]) + 1 if last_data else 0
            io_spec.insert(position, etree.Element(bpmn + "inputSet"))
        if not has_outputs:
            io_spec.append(etree.Element(bpmn + "outputSet"))


def _tolerated(message: str) -> bool:
    """XSD findings that do not make a diagram invalid: attributes the bundled spiffworkflow schema
    predates (newer spiff-arena modelers add some, e.g. serviceTaskOperator resultSchema)."""
    return message.startswith(_SPIFF_ELEMENT) and "is not allowed" in message and "attribute" in message


def _xsd_issues(root: Any, filename: str) -> list[ValidationIssue]:
    """All BPMN 2.0 XSD violations of a document, each with its line."""
    schema = VALIDATOR.validator
    VALIDATOR.preprocess(root)
    # One shared XMLSchema object: its error log is per validation, so validations take turns.
    with _XSD_LOCK:
        if schema.validate(root):
            return []
        errors = [(err.line, err.message) for err in schema.error_log if not _tolerated(err.message)]
    return [ValidationIssue(filename, None, f"line {line}: {message}") for line, message in errors]


def _structure_issues(root: Any, filename: str) -> tuple[list[ValidationIssue], list[tuple[str, str, str]]]:
    """Checks the library reports poorly or one at a time; returns issues and (file, id, called) calls."""
    issues: list[ValidationIssue] = []
    calls: list[tuple[str, str, str]] = []
    processes = root.xpath("./bpmn:process", namespaces=NSMAP)
    if not processes:
        issues.append(ValidationIssue(filename, None, "the document contains no bpmn:process"))
    elif all(p.get("isExecutable", "true") != "true" for p in processes):
        issues.append(ValidationIssue(filename, processes[0].get("id"),
                                      'no executable process (set isExecutable="true")'))
    for process in processes:
        pid = process.get("id")
        executable = process.get("isExecutable", "true") == "true"
        if executable and not (pid or "").strip():
            issues.append(ValidationIssue(filename, None, f"line {process.sourceline}: a process without an id"))
        ids = {el.get("id") for el in process.iter() if isinstance(el.tag, str) and el.get("id")}
        if executable and not process.xpath("./bpmn:startEvent", namespaces=NSMAP):
            issues.append(ValidationIssue(filename, pid, "the process has no start event"))
        for flow in process.xpath(".//bpmn:sequenceFlow", namespaces=NSMAP):
            for ref in ("sourceRef", "targetRef"):
                target = flow.get(ref)
                if not target or target not in ids:
                    issues.append(ValidationIssue(
                        filename, flow.get("id"), f"sequence flow {ref} '{target}' does not exist"))
        for call in process.xpath(".//bpmn:callActivity", namespaces=NSMAP):
            called = call.get("calledElement")
            if not called:
                issues.append(ValidationIssue(filename, call.get("id"), "call activity without calledElement"))
            else:
                calls.append((filename, call.get("id"), called))
                _version, problem = pinned_version(call)
                if problem:
                    issues.append(ValidationIssue(filename, call.get("id"), problem))
        for node in process.xpath(".//bpmn:scriptTask", namespaces=NSMAP):
            script = node.find(f"{{{NSMAP['bpmn']}}}script")
            if script is None or not (script.text or "").strip():
                issues.append(ValidationIssue(filename, node.get("id"), _missing_script(node)))
    return issues, calls


def _missing_script(node: Any) -> str:
    """Why a script task has no script we can run (an external resource, FEEL, another language)."""
    fmt = (node.get("scriptFormat") or "").strip()
    if node.xpath("./bpmn:extensionElements/zeebe:script", namespaces=NSMAP):
        return ("script task without a script: Camunda 8 FEEL scripts (zeebe:script) are not supported; "
                "write the script in Python in bpmn:script")
    if node.get(f"{{{NSMAP['camunda']}}}resource") is not None:
        return "script task without a script: external script resources (camunda:resource) are not supported"
    if fmt and fmt.lower() not in ("python", "text/python", "py"):
        return f"script task without a script (scriptFormat {fmt!r}: only inline Python scripts are run)"
    return "script task without a script"


def _script_issues(spec: Any, filename: str) -> list[ValidationIssue]:
    """Compile every script, condition and expression of a parsed spec in the restricted dialect."""
    issues = []

    def check(element_id: str, source: str | None, mode: Literal["exec", "eval"], what: str) -> None:
        if source is None or not str(source).strip():
            return
        try:
            check_script(str(source).strip() if mode == "eval" else str(source), mode)
        except ScriptError as exc:
            issues.append(ValidationIssue(filename, element_id, f"{what}: {exc}"))

    for ts in spec.task_specs.values():
        element_id = getattr(ts, "bpmn_id", None) or ts.name
        check(element_id, getattr(ts, "script", None), "exec", "script")
        check(element_id, getattr(ts, "prescript", None), "exec", "pre-script")
        check(element_id, getattr(ts, "postscript", None), "exec", "post-script")
        for condition, target in getattr(ts, "cond_task_specs", ()) or ():
            if condition is not None:
                flow = target
                check(element_id, condition.args[0], "eval", f"condition towards {flow}")
        definition = getattr(ts, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and _CRON.match(str(definition.expression or "")):
            issues.append(ValidationIssue(filename, element_id, (
                f"timer expression {definition.expression!r}: cron expressions are not supported; use an "
                "ISO 8601 date, duration or cycle (2024-01-31T09:00:00Z, PT4H, R/PT5M)")))
        elif isinstance(definition, TimerEventDefinition) and not str(definition.expression or "").strip():
            issues.append(ValidationIssue(filename, element_id,
                                          "timer without a time: its timeDate, timeDuration or timeCycle is empty"))
        elif isinstance(definition, TimerEventDefinition):
            check(element_id, definition.expression, "eval", "timer expression")
        expression = getattr(definition, "expression", None)
        if expression and not isinstance(definition, TimerEventDefinition):
            check(element_id, expression, "eval", "event payload expression")
        if isinstance(ts, AsyncServiceTask):
            for name, param in (ts.operation_params or {}).items():
                check(element_id, param.get("value"), "eval", f"parameter {name}")
    return issues


def instantiate(spec: Any, subprocess_specs: dict[str, Any], script_engine: Any = None) -> BpmnWorkflow:
    """A new BpmnWorkflow; WorkflowError when the library cannot build one.

    Building predicts the task tree: a flow that loops back without a gateway (catch event <-> task)
    makes that prediction recurse without end (RecursionError) before anything runs.
    """
    try:
        return BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    except RecursionError:
        raise WorkflowError(
            f"process {spec.name} cannot be instantiated: its flow loops back without a gateway "
            "(the engine predicts the loop forever); route the loop through an exclusive gateway") from None
    except Exception as exc:  # any library failure here is the diagram's, never a crash
        raise WorkflowError(f"process {spec.name} cannot be instantiated: {type(exc).__name__}: {exc}") from exc


def _describe_validation(exc: ValidationException) -> str:
    """Message of a library ValidationException, with parser recursion explained."""
    text = str(exc.args[0]) if exc.args else str(exc)
    if "RecursionError" in text or "recursion" in text.lower():
        return ("the process is too long to parse (a sequential chain of more than ~490 elements); "
                "split it with call activities")
    line = getattr(exc, "line_number", "")
    return f"{text} (line {line})" if line else text


def _call_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles among call activities (process -> called processes), each as a path."""
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return cycles


def _all_specs(parser: GuichetParser, pid: str) -> tuple[Any, dict[str, Any]]:
    """A top-level process spec and its embedded subprocess specs (call activity targets excluded)."""
    spec = parser.get_spec(pid)
    embedded: dict[str, Any] = {}
    pending = [spec]
    while pending:
        current = pending.pop()
        for ts in current.task_specs.values():
            name = getattr(ts, "spec", None)
            if name and not isinstance(ts, CallActivity) and name not in embedded:
                sub = parser.get_spec(name)
                embedded[name] = sub
                pending.append(sub)
    return spec, embedded


def parse_deployment(files: dict[str, bytes], known_processes: set[str],
                     serializer: StateSerializer) -> list[ProcessModel]:
    """Validate and parse a deployment; raise BpmnValidationError listing every problem found."""
    issues: list[ValidationIssue] = []
    parser = GuichetParser()
    dmn_sources: dict[str, str] = {}
    for name in sorted(n for n in files if n.lower().endswith(".dmn")):
        try:
            root = parse_secure_xml(files[name])
            tables = [d.get("id") for d in root.iter()
                      if isinstance(d.tag, str) and d.tag.endswith("}decision") and
                      any(isinstance(c.tag, str) and c.tag.endswith("}decisionTable") for c in d)]
            if len(tables) > 1:
                issues.append(ValidationIssue(name, tables[0], (
                    f"{len(tables)} decision tables in one DMN file ({', '.join(map(str, tables))}): "
                    "only one decision table per file is supported; split the file")))
                continue
            before = set(parser.dmn_parsers)
            parser.add_dmn_xml(root, name)
            for decision_id in set(parser.dmn_parsers) - before:
                parser.dmn_parsers[decision_id].parse()
                dmn_sources[decision_id] = etree.tostring(root, encoding="unicode")
        except XmlRejectedError as exc:
            issues.append(ValidationIssue(name, None, str(exc)))
        except Exception as exc:  # noqa: BLE001 - the DMN parser raises plain exceptions on bad tables
            issues.append(ValidationIssue(name, getattr(exc, "id", None) or None, f"invalid DMN: {exc}"))

    top_level: dict[str, tuple[str, Any]] = {}
    calls: list[tuple[str, str, str]] = []
    broken_files: set[str] = set()
    for name in sorted(n for n in files if n.lower().endswith(".bpmn") or n.lower().endswith(".bpmn20.xml")):
        try:
            root = parse_secure_xml(files[name])
        except XmlRejectedError as exc:
            issues.append(ValidationIssue(name, None, str(exc)))
            broken_files.add(name)
            continue
        repair_io_specifications(root)
        file_issues = _xsd_issues(root, name)
        structure, file_calls = _structure_issues(root, name)
        file_issues += structure
        calls += file_calls
        for process in root.xpath("./bpmn:process", namespaces=NSMAP):
            if process.get("isExecutable", "true") == "true":
                if process.get("id") in top_level:
                    file_issues.append(ValidationIssue(name, process.get("id"), "duplicate process id"))
                top_level[process.get("id")] = (name, process)
        if file_issues:
            issues += file_issues
            broken_files.add(name)
            continue
        try:
            normalize_multi_instance(root)
            parser.add_bpmn_xml(root, name)
        except ValidationException as exc:
            issues.append(ValidationIssue(name, getattr(exc, "id", None) or None, _describe_validation(exc)))
            broken_files.add(name)

    available = set(top_level) | set(known_processes)
    graph: dict[str, set[str]] = {}
    for filename, element_id, called in calls:
        if called not in available:
            issues.append(ValidationIssue(filename, element_id, f"called process '{called}' is not deployed"))
    for pid, (filename, process) in top_level.items():
        graph[pid] = {c.get("calledElement") for c in process.xpath(".//bpmn:callActivity", namespaces=NSMAP)
                      if c.get("calledElement")}
    for cycle in _call_cycles(graph):
        first = top_level[cycle[0]][0] if cycle[0] in top_level else None
        issues.append(ValidationIssue(first, cycle[0], "recursive call activities: " + " -> ".join(cycle)))

    parsed: dict[str, tuple[Any, dict[str, Any]]] = {}
    for pid, (filename, _process) in top_level.items():
        if filename in broken_files:
            continue
        try:
            spec, embedded = _all_specs(parser, pid)
        except ValidationException as exc:
            issues.append(ValidationIssue(filename, getattr(exc, "id", None) or pid, _describe_validation(exc)))
            continue
        except RecursionError:
            issues.append(ValidationIssue(filename, pid, _describe_validation(ValidationException("RecursionError"))))
            continue
        for sp in [spec, *embedded.values()]:
            issues += _script_issues(sp, filename)
        # Dry run (called processes are not needed to build the tree): a process the library cannot even
        # instantiate is refused now, not at its first start.
        try:
            instantiate(spec, embedded)
        except WorkflowError as exc:
            issues.append(ValidationIssue(filename, pid, str(exc)))
        parsed[pid] = (spec, embedded)

    if issues:
        raise BpmnValidationError(issues)
    return [_model(pid, top_level[pid][0], top_level[pid][1], spec, embedded, dmn_sources, serializer)
            for pid, (spec, embedded) in parsed.items()]


def _model(pid: str, filename: str, process: Any, spec: Any, embedded: dict[str, Any],
           dmn_sources: dict[str, str], serializer: StateSerializer) -> ProcessModel:
    """Build the ProcessModel of one parsed process."""
    model = ProcessModel(key=pid, name=process.get("name") or pid, file=filename,
                         spec=serializer.spec_to_json(spec, embedded),
                         searchable_variables=searchable_variables(process))
    called, decisions = set(), []
    seen_ids: list[str] = []
    for sp in [spec, *embedded.values()]:
        for ts in sp.task_specs.values():
            element_id = getattr(ts, "bpmn_id", None)
            if element_id is None:
                continue
            if element_id not in seen_ids:
                seen_ids.append(element_id)
            if isinstance(ts, CallActivity):
                called.add(ts.spec)
            if isinstance(ts, (UserTask, ManualTask)):
                info = user_task_info(ts, pid)
                model.user_tasks.append(info)
                form_data = (getattr(ts, "extensions", None) or {}).get("camunda", {}).get("formData")
                if form_data and info.form_key and info.form_key not in model.generated_forms:
                    model.generated_forms[info.form_key] = form_data_schema(form_data, ts.bpmn_name)
            elif isinstance(ts, AsyncServiceTask):
                model.service_tasks.append(service_task_info(ts))
            elif isinstance(ts, BusinessRuleTaskMixin):
                decision_id = _decision_ref(process, element_id)
                if decision_id and decision_id not in decisions:
                    decisions.append(decision_id)
            definition = getattr(ts, "event_definition", None)
            if isinstance(ts, (CatchingEvent, ThrowingEvent)):
                _note_event(model, definition, element_id)
    model.called_processes = sorted(called)
    for call in process.xpath(".//bpmn:callActivity", namespaces=NSMAP):
        version, _problem = pinned_version(call)
        if version is not None and call.get("calledElement"):
            model.called_versions[call.get("calledElement")] = version
    model.element_ids = seen_ids
    model.decisions = decisions
    model.dmn = {d: dmn_sources[d] for d in decisions if d in dmn_sources}
    return model


def _decision_ref(process: Any, element_id: str) -> str | None:
    """Decision id referenced by a business rule task, read from the XML in either dialect."""
    from .parser import BusinessRuleParser
    for node in process.xpath(f".//bpmn:businessRuleTask[@id='{element_id}']", namespaces=NSMAP):
        return BusinessRuleParser.get_decision_ref(node)
    return None


def _note_event(model: ProcessModel, definition: Any, element_id: str) -> None:
    """Record message, signal and timer elements of the process on the model."""
    if isinstance(definition, MessageEventDefinition) and definition.name not in model.messages:
        model.messages.append(definition.name)
    elif isinstance(definition, SignalEventDefinition) and definition.name not in model.signals:
        model.signals.append(definition.name)
    elif isinstance(definition, TimerEventDefinition) and element_id not in model.timers:
        model.timers.append(element_id)
