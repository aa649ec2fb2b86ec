"""Routing metadata of BPMN elements: queue, form, priority, due date, worker topic, searchable variables."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .parser import NSMAP, camunda_extensions

DEFAULT_PRIORITY = 50
_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:[.,]\d+)?)W|(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?)$",
    re.IGNORECASE,
)
_FORM_SUFFIXES = (".schema.json", "-schema.json", "_schema.json", ".json")


@dataclass
class UserTaskInfo:
    """Deploy-time routing of a user/manual task."""

    element_id: str
    name: str | None
    queue: str | None
    form_key: str | None
    form_file: str | None = None
    ui_form_file: str | None = None
    priority: int = DEFAULT_PRIORITY
    due_in: str | None = None


@dataclass
class ServiceTaskInfo:
    """Deploy-time routing of a parked service task (a job for a worker)."""

    element_id: str
    name: str | None
    topic: str | None
    retries: int | None = None


@dataclass
class Route:
    """What the snapshot needs about a user task at run time (cached on the task spec)."""

    queue: str | None
    form_key: str | None
    priority: int
    due_in: str | None
    form_file: str | None = None
    ui_form_file: str | None = None
    instructions: str | None = None


def parse_duration(value: str) -> timedelta:
    """Parse an ISO 8601 duration without months/years (P3D, PT4H, P1DT12H, P2W) into a timedelta."""
    match = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if match is None or value.strip().upper() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration (days/hours/minutes/seconds): {value!r}")
    parts = {k: float(v.replace(",", ".")) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)


# Upper-case letters and digits after a P: a mistyped duration (P3X, PT), not a variable name.
_LOOKS_LIKE_DURATION = re.compile(r"^\s*P[0-9A-Z.,]*\s*$")


def due_in_problem(value: str) -> str | None:
    """Why a dueIn property is unusable, or None: an ISO 8601 duration, or an expression on the task's data
    giving one at run time (a variable set by a decision table, e.g. `answer_due_in`)."""
    try:
        parse_duration(value)
        return None
    except ValueError as exc:
        if _LOOKS_LIKE_DURATION.match(value or ""):
            return str(exc)
        from .scripts import check_script  # scripts imports nothing from here; keep routing light to import

        try:
            check_script(value.strip(), "eval")
        except Exception:  # noqa: BLE001 - any compile error: neither a duration nor an expression
            return f"{exc}; nor an expression on the task's data"
        return None


def due_at(due_in: str | None, start: datetime) -> datetime | None:
    """Due date of a task created at start with a dueIn duration, or None."""
    if not due_in:
        return None
    return start + parse_duration(due_in)


def form_key_from_file(filename: str) -> str:
    """Form key of a spiff form file: the file name without its schema suffix."""
    base = filename.rsplit("/", 1)[-1]
    for suffix in _FORM_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def _properties(extensions: dict[str, Any]) -> dict[str, Any]:
    """Merged spiff + camunda properties of a task spec's extensions."""
    return extensions.get("properties") or {}


def _priority(value: Any) -> int:
    """Priority from a property, DEFAULT_PRIORITY when absent or not an int."""
    try:
        return int(value) if value not in (None, "") else DEFAULT_PRIORITY
    except (TypeError, ValueError):
        return DEFAULT_PRIORITY


def route_user_task(task_spec: Any, process_id: str) -> Route:
    """Queue (lane, candidateGroups, queue property), form, priority and dueIn of a user task spec.

    Camunda 8 diagrams: a static zeebe:assignmentDefinition candidateGroups routes like
    camunda:candidateGroups, and a zeebe:formDefinition formKey/formId names the form.
    """
    cached = getattr(task_spec, "_guichet_route", None)
    if cached is not None:
        return cached
    extensions = getattr(task_spec, "extensions", None) or {}
    camunda = extensions.get("camunda") or {}
    props = _properties(extensions)
    zeebe = extensions.get("zeebe") or {}
    queue = task_spec.lane or None
    if not queue and camunda.get("candidateGroups"):
        queue = camunda["candidateGroups"].split(",")[0].strip() or None
    if not queue and zeebe.get("candidateGroups") and not zeebe["candidateGroups"].startswith("="):
        queue = zeebe["candidateGroups"].split(",")[0].strip() or None
    if not queue:
        queue = props.get("queue") or None
    form_key = form_file = ui_form_file = None
    if props.get("formJsonSchemaFilename"):
        form_file = props["formJsonSchemaFilename"]
        form_key = form_key_from_file(form_file)
        ui_form_file = props.get("formUiSchemaFilename") or None
    elif camunda.get("formKey"):
        form_key = camunda["formKey"]
    elif camunda.get("formData"):
        form_key = f"{process_id}.{task_spec.bpmn_id}"
    elif zeebe.get("formKey"):
        form_key = zeebe["formKey"]
    elif props.get("formKey"):
        form_key = props["formKey"]
    due_in = props.get("dueIn") or None
    # A `priority` property wins; Camunda's own camunda:priority attribute is the fallback.
    priority = _priority(props.get("priority") if props.get("priority") not in (None, "")
                         else camunda.get("priority"))
    # spiff-arena's markdown instructions, else the element's bpmn:documentation.
    instructions = extensions.get("instructionsForEndUser") or getattr(task_spec, "documentation", None)
    route = Route(queue=queue, form_key=form_key, priority=priority, due_in=due_in, form_file=form_file,
                  ui_form_file=ui_form_file, instructions=instructions)
    # Specs are shared by every instance of a definition version: compute once.
    task_spec._guichet_route = route
    return route


def user_task_info(task_spec: Any, process_id: str) -> UserTaskInfo:
    """Deploy-time UserTaskInfo of a user/manual task spec."""
    route = route_user_task(task_spec, process_id)
    return UserTaskInfo(
        element_id=task_spec.bpmn_id, name=task_spec.bpmn_name, queue=route.queue,
        form_key=route.form_key, form_file=route.form_file, ui_form_file=route.ui_form_file,
        priority=route.priority, due_in=route.due_in,
    )


def service_task_info(task_spec: Any) -> ServiceTaskInfo:
    """Deploy-time ServiceTaskInfo of a parked service task spec."""
    props = _properties(getattr(task_spec, "extensions", None) or {})
    retries = task_spec.retries if getattr(task_spec, "retries", None) is not None else props.get("retries")
    try:
        retries = int(retries) if retries not in (None, "") else None
    except (TypeError, ValueError):
        retries = None
    return ServiceTaskInfo(element_id=task_spec.bpmn_id, name=task_spec.bpmn_name,
                           topic=getattr(task_spec, "topic", None), retries=retries)


_JSON_TYPES = {"string": "string", "long": "integer", "integer": "integer", "boolean": "boolean",
               "date": "string", "enum": "string", "double": "number", "number": "number"}


def form_data_schema(fields: list[dict[str, Any]], title: str | None = None) -> dict[str, Any]:
    """JSON Schema generated from camunda:formData fields (types, enums, required, defaults, titles)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for item in fields:
        ftype = item.get("type") or "string"
        prop: dict[str, Any] = {"type": _JSON_TYPES.get(ftype, "string")}
        if item.get("label"):
            prop["title"] = item["label"]
        if ftype == "date":
            prop["format"] = "date"
        if ftype == "enum" and item.get("values"):
            prop["enum"] = [v["id"] for v in item["values"]]
            # oneOf/const/title is how JSON Schema form renderers show labelled choices.
            prop["oneOf"] = [{"const": v["id"], "title": v.get("name") or v["id"]} for v in item["values"]]
        if "defaultValue" in item:
            default = _typed_default(item["defaultValue"], ftype)
            if default is not None:
                prop["default"] = default
        validation = item.get("validation") or {}
        for name, config in validation.items():
            _apply_constraint(prop, name, config)
        if "required" in validation:
            required.append(item["id"])
        properties[item["id"]] = prop
    schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                              "properties": properties}
    if title:
        schema["title"] = title
    if required:
        schema["required"] = required
    return schema


def _typed_default(value: str, ftype: str) -> Any:
    """A formField defaultValue converted to the field's JSON type (None when it does not convert)."""
    try:
        if ftype in ("long", "integer"):
            return int(value)
        if ftype in ("double", "number"):
            return float(value)
        if ftype == "boolean":
            return str(value).strip().lower() == "true"
    except ValueError:
        return None
    return value


def _apply_constraint(prop: dict[str, Any], name: str, config: str | None) -> None:
    """Map camunda validation constraints (minlength, maxlength, min, max) to JSON Schema keywords."""
    keyword = {"minlength": "minLength", "maxlength": "maxLength", "min": "minimum", "max": "maximum"}.get(name)
    if keyword is None or config is None:
        return
    try:
        number = float(config)
    except ValueError:
        return
    prop[keyword] = int(number) if number.is_integer() else number


def process_properties(process_node: Any) -> dict[str, str]:
    """Extension properties of a bpmn:process element, spiff or camunda."""
    props = dict(camunda_extensions(process_node).get("properties", {}))
    for prop in process_node.xpath(
            "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NSMAP):
        if prop.get("name") is not None:
            props[prop.get("name")] = prop.get("value")
    return props


def searchable_variables(process_node: Any) -> list[str]:
    """Names listed in the process-level `searchableVariables` property (comma separated)."""
    value = process_properties(process_node).get("searchableVariables") or ""
    return [name.strip() for name in value.split(",") if name.strip()]


def pinned_version(call_node: Any) -> tuple[int | None, str | None]:
    """(version, problem) of a call activity bound to one version of its called process.

    Camunda 7: calledElementBinding="version" with calledElementVersion="N"; any dialect: a
    `calledVersion` property. (None, None) means: the latest deployed version, resolved at run time.
    """
    camunda = "{http://camunda.org/schema/1.0/bpmn}"
    raw: str | None = None
    if call_node.get(f"{camunda}calledElementBinding") == "version":
        raw = call_node.get(f"{camunda}calledElementVersion")
        if raw is None:
            return None, "calledElementBinding is 'version' but calledElementVersion is missing"
    raw = process_properties(call_node).get("calledVersion") or raw
    if raw is None:
        return None, None
    try:
        version = int(str(raw).strip())
    except ValueError:
        return None, f"called version {raw!r} is not a whole number"
    if version < 1:
        return None, f"called version {version} must be 1 or more"
    return version, None
