"""User-task forms: file naming, schema checks, lookup by form key and validation of submitted data."""
from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from sqlalchemy import bindparam, select

from app.errors import ValidationFailedError
from app.extensions import db
from app.models import FormDefinition

SCHEMA_SUFFIXES = (".schema.json", "-schema.json")
UI_SUFFIXES = (".uischema.json", "-uischema.json")


def form_file_kind(filename: str) -> tuple[str, str] | None:
    """('schema'|'ui', form_key) for a form file name, None when it is not one."""
    lower = filename.lower()
    for suffix in UI_SUFFIXES:
        if lower.endswith(suffix):
            return "ui", filename[: -len(suffix)]
    for suffix in SCHEMA_SUFFIXES:
        if lower.endswith(suffix):
            return "schema", filename[: -len(suffix)]
    return None


def parse_schema_file(filename: str, content: bytes) -> dict[str, Any]:
    """Decode a form file and check it is a valid JSON Schema; ValidationFailedError otherwise."""
    try:
        schema = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailedError(f"{filename}: not valid JSON ({exc})",
                                    [{"file": filename, "message": f"not valid JSON: {exc}"}]) from exc
    if not isinstance(schema, dict):
        raise ValidationFailedError(f"{filename}: a form schema must be a JSON object",
                                    [{"file": filename, "message": "must be a JSON object"}])
    return schema


DYNAMIC_OPTIONS_PREFIX = "options_from_task_data_var:"


def _map_dynamic_options(node: Any, replace: Any) -> Any:
    """A copy of a schema where each spiff-arena `"options_from_task_data_var:NAME"` entry of an
    anyOf/oneOf list is replaced by the schemas `replace(NAME)` returns."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("anyOf", "oneOf") and isinstance(value, list):
                items: list[Any] = []
                for item in value:
                    if isinstance(item, str) and item.startswith(DYNAMIC_OPTIONS_PREFIX):
                        items.extend(replace(item[len(DYNAMIC_OPTIONS_PREFIX):].strip()))
                    else:
                        items.append(_map_dynamic_options(item, replace))
                out[key] = items
            else:
                out[key] = _map_dynamic_options(value, replace)
        return out
    if isinstance(node, list):
        return [_map_dynamic_options(item, replace) for item in node]
    return node


def resolve_dynamic_options(schema: dict[str, Any] | None, variables: dict[str, Any] | None) -> dict[str, Any] | None:
    """The schema with spiff-arena dynamic options filled from the instance variables.

    `"anyOf": ["options_from_task_data_var:colors"]` with `colors = [{"value": "b", "label": "Blue"}]`
    becomes `"anyOf": [{"const": "b", "title": "Blue"}]`; no usable options means no valid choice.
    """
    if not schema:
        return schema
    variables = variables or {}

    def options(name: str) -> list[dict[str, Any]]:
        found = variables.get(name)
        choices = []
        for option in found if isinstance(found, list) else []:
            if isinstance(option, dict) and "value" in option:
                choices.append({"const": option["value"], "title": str(option.get("label", option["value"]))})
            elif isinstance(option, (str, int, float, bool)):
                choices.append({"const": option, "title": str(option)})
        return choices or [{"not": {}}]

    return _map_dynamic_options(schema, options)  # type: ignore[no-any-return]


def check_json_schema(filename: str, schema: dict[str, Any]) -> None:
    """Raise ValidationFailedError when the schema is not a valid JSON Schema (dynamic options allowed)."""
    schema = _map_dynamic_options(schema, lambda name: [{}])
    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        raise ValidationFailedError(f"{filename}: invalid JSON Schema: {exc.message}",
                                    [{"file": filename, "message": exc.message}]) from exc


_LATEST_FORM = (select(FormDefinition).where(FormDefinition.form_key == bindparam("form_key"))
                .order_by(FormDefinition.version.desc()).limit(1))


def latest_form(form_key: str) -> FormDefinition | None:
    """Highest version of a form key."""
    return db.session.scalar(_LATEST_FORM, {"form_key": form_key})


def validate_form_data(schema: dict[str, Any] | None, data: dict[str, Any]) -> None:
    """Validate submitted task data against the form's JSON Schema; 422 listing every field in error."""
    if not schema:
        return
    validator_cls = validator_for(schema, default=Draft202012Validator)
    validator = validator_cls(schema, format_checker=FormatChecker())
    errors = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = [str(p) for p in err.absolute_path]
        if err.validator == "required" and isinstance(err.instance, dict):
            missing = [name for name in err.validator_value if name not in err.instance]
            for name in missing:
                errors.append({"field": ".".join(path + [name]), "message": "is required"})
            continue
        errors.append({"field": ".".join(path) or None, "message": err.message})
    if errors:
        fields = ", ".join(e["field"] or "(form)" for e in errors)
        raise ValidationFailedError(f"form data does not match the form: {fields}", errors)
