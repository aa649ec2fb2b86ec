"""JSON Schema (+ UI schema) -> HTML form fields, and a posted form -> typed variables.

Input names are the schema's property names (nested objects use `parent.child`). Validation itself
stays in the service (`complete_task` checks the data against the schema); this module only turns
the strings of an HTML form into JSON values so that those checks see numbers and booleans.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

TEXT_FORMATS = {"date": "date", "date-time": "datetime-local", "email": "email", "uri": "url", "time": "time"}
MAX_DEPTH = 4


@dataclass
class Field:
    """One input of a rendered form (or a group of them for a nested object)."""

    name: str
    label: str
    kind: str  # text, textarea, number, select, radio, yesno, checkbox, checkboxes, group, hidden, password
    required: bool = False
    value: Any = None
    options: list[tuple[str, str]] = field(default_factory=list)
    help: str | None = None
    placeholder: str | None = None
    error: str | None = None
    readonly: bool = False
    input_type: str = "text"
    attrs: dict[str, Any] = field(default_factory=dict)
    children: list[Field] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind is None:
        if "properties" in schema:
            return "object"
        if "enum" in schema or "oneOf" in schema:
            return "string"
    return str(kind or "string")


def _choices(schema: dict[str, Any]) -> list[tuple[Any, str]] | None:
    """(value, label) of an enum, of a oneOf of consts, or None."""
    if isinstance(schema.get("enum"), list):
        names = schema.get("enumNames") if isinstance(schema.get("enumNames"), list) else None
        return [(v, str(names[i]) if names and i < len(names) else _humanize(v)) for i, v in enumerate(schema["enum"])]
    one_of = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(one_of, list) and one_of and all(isinstance(o, dict) and "const" in o for o in one_of):
        return [(o["const"], str(o.get("title", o["const"]))) for o in one_of]
    return None


def _humanize(value: Any) -> str:
    text = str(value)
    return text.replace("_", " ").capitalize() if isinstance(value, str) else text


def _ordered(properties: dict[str, Any], ui: dict[str, Any]) -> list[str]:
    order = ui.get("ui:order") if isinstance(ui.get("ui:order"), list) else None
    names = list(properties)
    if not order:
        return names
    head = [n for n in order if n in properties]
    rest = [n for n in names if n not in head]
    if "*" in order:
        star = order.index("*")
        before = [n for n in order[:star] if n in properties]
        after = [n for n in order[star + 1:] if n in properties]
        return before + [n for n in rest if n not in after] + after
    return head + rest


def _label(name: str, schema: dict[str, Any], ui: dict[str, Any]) -> str:
    return str(ui.get("ui:title") or schema.get("title") or _humanize(name))


def build_fields(schema: dict[str, Any] | None, ui_schema: dict[str, Any] | None, values: dict[str, Any] | None,
                 errors: dict[str, str] | None = None, *, prefix: str = "", depth: int = 0) -> list[Field]:
    """The fields of an object schema, with values and error messages filled in."""
    if not isinstance(schema, dict):
        return []
    ui = ui_schema if isinstance(ui_schema, dict) else {}
    values = values if isinstance(values, dict) else {}
    errors = errors or {}
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = set(schema.get("required") or [])
    result = []
    for name in _ordered(properties, ui):
        prop = properties[name] if isinstance(properties[name], dict) else {}
        prop_ui = ui.get(name) if isinstance(ui.get(name), dict) else {}
        full = f"{prefix}{name}"
        widget = prop_ui.get("ui:widget")
        kind = _type_of(prop)
        item = Field(name=full, label=_label(name, prop, prop_ui), kind="text", required=name in required,
                     help=prop_ui.get("ui:help") or prop.get("description"),
                     placeholder=prop_ui.get("ui:placeholder"), error=errors.get(full),
                     readonly=bool(prop_ui.get("ui:readonly") or prop_ui.get("ui:disabled") or prop.get("readOnly")))
        value = values.get(name, prop.get("default"))
        if kind == "object" and depth < MAX_DEPTH:
            item.kind = "group"
            item.children = build_fields(prop, prop_ui, value if isinstance(value, dict) else {}, errors,
                                         prefix=full + ".", depth=depth + 1)
        elif widget == "hidden":
            item.kind, item.value = "hidden", value
        elif kind == "boolean":
            item.kind = "checkbox" if widget == "checkbox" else "yesno"
            item.value = value if isinstance(value, bool) else None
            item.options = [("true", _("Yes")), ("false", _("No"))]
        elif kind == "array":
            choices = _choices(prop.get("items") if isinstance(prop.get("items"), dict) else {})
            item.kind = "checkboxes" if choices else "textarea"
            item.options = [(str(v), label) for v, label in (choices or [])]
            item.value = [str(v) for v in value] if isinstance(value, list) else []
            if not choices:
                item.help = item.help or _("One value per line.")
                item.value = "\n".join(item.value)
        elif _choices(prop) is not None:
            item.kind = "radio" if widget == "radio" else "select"
            item.options = [(str(v), label) for v, label in _choices(prop) or []]
            item.value = "" if value is None else str(value)
        elif kind in ("integer", "number"):
            item.kind, item.input_type = "number", "number"
            item.value = "" if value is None else value
            item.attrs = {k: prop[v] for k, v in (("min", "minimum"), ("max", "maximum")) if v in prop}
            item.attrs["step"] = prop.get("multipleOf", 1 if kind == "integer" else "any")
        else:
            item.kind = "textarea" if widget == "textarea" else ("password" if widget == "password" else "text")
            item.input_type = "password" if widget == "password" else TEXT_FORMATS.get(str(prop.get("format")), "text")
            item.value = "" if value is None else value
            item.attrs = {k: prop[v] for k, v in (("minlength", "minLength"), ("maxlength", "maxLength"))
                          if v in prop}
            if "pattern" in prop:
                item.attrs["data-pattern"] = prop["pattern"]
        result.append(item)
    return result


def _convert(raw: str, kind: str) -> Any:
    """A form string as the JSON type the schema asks for; unconvertible strings stay strings
    (the schema check then reports them)."""
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    if kind == "boolean":
        lowered = raw.strip().lower()
        if lowered in ("true", "on", "yes", "1"):
            return True
        if lowered in ("false", "off", "no", "0"):
            return False
        return raw
    return raw


def _enum_value(raw: str, schema: dict[str, Any]) -> Any:
    for value, _label in _choices(schema) or []:
        if str(value) == raw:
            return value
    return raw


def parse_submission(schema: dict[str, Any] | None, ui_schema: dict[str, Any] | None, form: MultiDict,
                     *, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """The variables a posted form carries, typed after the schema; empty inputs are left out."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return {}
    ui = ui_schema if isinstance(ui_schema, dict) else {}
    data: dict[str, Any] = {}
    for name, prop in schema["properties"].items():
        if not isinstance(prop, dict):
            continue
        prop_ui = ui.get(name) if isinstance(ui.get(name), dict) else {}
        full = f"{prefix}{name}"
        kind = _type_of(prop)
        if kind == "object" and depth < MAX_DEPTH:
            nested = parse_submission(prop, prop_ui, form, prefix=full + ".", depth=depth + 1)
            if nested:
                data[name] = nested
            continue
        if kind == "array":
            items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
            if _choices(items) is not None:
                raw_list = form.getlist(full)
            else:
                raw_list = [line.strip() for line in form.get(full, "").splitlines() if line.strip()]
            if raw_list or full in form:
                item_kind = _type_of(items)
                data[name] = [_enum_value(r, items) if _choices(items) else _convert(r, item_kind) for r in raw_list]
            continue
        if kind == "boolean" and prop_ui.get("ui:widget") == "checkbox":
            if f"{full}.present" in form or full in form:
                data[name] = full in form
            continue
        raw = form.get(full)
        if raw is None or raw == "":
            continue
        data[name] = _enum_value(raw, prop) if _choices(prop) is not None else _convert(raw, kind)
    return data


def errors_by_field(errors: list[dict[str, Any]]) -> tuple[dict[str, str], list[str]]:
    """Service validation errors split into {field: message} and messages about the whole form."""
    by_field: dict[str, str] = {}
    general: list[str] = []
    for error in errors:
        message = str(error.get("message") or "")
        if message == "is required":
            message = _("This field is required.")
        name = error.get("field")
        if name and name not in by_field:
            by_field[str(name)] = message
        elif not name:
            general.append(message)
    return by_field, general
