"""Deploying BPMN, DMN and form files: validate everything first, then deploy all or nothing."""
from __future__ import annotations

import hashlib
import posixpath
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from app.errors import ValidationFailedError
from app.extensions import db
from app.models import Deployment, DeploymentFile, FormDefinition, ProcessDefinition, User
from app.services import forms as form_service
from app.services.operations import unknown_topic_errors
from app.services.permissions import DEPLOY_ROLES, require_role
from app.services.runtime import get_engine, known_process_keys, latest_definition, next_version
from workflows import BpmnValidationError
from workflows.routing import due_in_problem

MAX_FILES = 200


@dataclass
class DeploymentResult:
    deployment: Deployment
    definitions: list[ProcessDefinition]
    created: list[ProcessDefinition]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _classify(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith((".bpmn", ".bpmn20.xml")):
        return "bpmn"
    if lower.endswith(".dmn"):
        return "dmn"
    if form_service.form_file_kind(name):
        return "form"
    if lower.endswith(".json"):
        # spiff-arena names form files freely (invoice_form.json): a form once a user task names it.
        return "json"
    return None


def _clean_name(raw: str) -> str:
    # Keep the base name only: a deployment file name never addresses a path on the server.
    name = posixpath.basename((raw or "").replace("\\", "/")).strip()
    if not name or name.startswith(".") or len(name) > 255:
        raise ValidationFailedError(f"invalid file name {raw!r}", [{"file": raw, "message": "invalid file name"}])
    return name


def deploy_files(files: list[tuple[str, bytes]], actor: User) -> DeploymentResult:
    """Validate and deploy files as one deployment; identical processes and forms keep their version."""
    require_role(actor, DEPLOY_ROLES, "deploy process definitions")
    if not files:
        raise ValidationFailedError("no files to deploy", [{"field": "files", "message": "at least one file"}])
    if len(files) > MAX_FILES:
        raise ValidationFailedError(f"at most {MAX_FILES} files per deployment",
                                    [{"field": "files", "message": f"at most {MAX_FILES}"}])
    named: dict[str, tuple[str, bytes]] = {}
    errors: list[dict[str, Any]] = []
    for raw_name, content in files:
        name = _clean_name(raw_name)
        kind = _classify(name)
        if kind is None:
            errors.append({"file": name, "message": "unsupported file type: .bpmn, .dmn, .schema.json, .uischema.json "
                                                    "or a .json form a user task names"})
        elif name in named:
            errors.append({"file": name, "message": "file given twice"})
        elif not content:
            errors.append({"file": name, "message": "empty file"})
        else:
            named[name] = (kind, content)
    if errors:
        raise ValidationFailedError("some files cannot be deployed", errors)

    engine_files = {n: c for n, (k, c) in named.items() if k in ("bpmn", "dmn")}
    models = []
    if engine_files:
        try:
            models = get_engine().parse_deployment(engine_files, known_processes=known_process_keys())
        except BpmnValidationError as exc:
            raise ValidationFailedError(
                "the BPMN does not validate",
                [{"file": i.file, "elementId": i.element_id, "message": i.message} for i in exc.issues],
            ) from exc
    forms = _parse_forms(named, _form_parts(named, models))
    _check_form_references(models, forms)
    _check_due_dates(models)
    topic_errors = unknown_topic_errors(models)
    if topic_errors:
        raise ValidationFailedError("service tasks name topics no worker runs", topic_errors)

    deployment = Deployment(deployed_by=actor.username)
    db.session.add(deployment)
    db.session.flush()
    file_rows: dict[str, DeploymentFile] = {}
    for name, (kind, content) in named.items():
        row = DeploymentFile(deployment_id=deployment.id, name=name, kind="form" if kind == "json" else kind,
                             checksum=_sha256(content), content=content)
        db.session.add(row)
        file_rows[name] = row
    db.session.flush()

    _deploy_forms(deployment, forms, models)
    definitions, created = [], []
    for model in models:
        definition, is_new = _deploy_process(deployment, model, file_rows[model.file], actor)
        definitions.append(definition)
        if is_new:
            created.append(definition)
    db.session.flush()
    _check_pinned_versions(models)
    return DeploymentResult(deployment, definitions, created)


def _check_pinned_versions(models: list[Any]) -> None:
    """A call activity pinned to a version needs that version deployed (this deployment included)."""
    errors = []
    for model in models:
        for key, version in model.called_versions.items():
            found = db.session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == key,
                                                                         ProcessDefinition.version == version))
            if found is None:
                errors.append({"file": model.file, "elementId": None,
                               "message": f"a call activity is pinned to {key} version {version}, which is not deployed"})
    if errors:
        # Raised after the rows were added: the request's transaction rolls all of them back.
        raise ValidationFailedError("call activities name versions that do not exist", errors)


def _form_parts(named: dict[str, tuple[str, bytes]], models: list[Any]) -> dict[str, tuple[str, str]]:
    """file name -> ('schema'|'ui', form key) for every form file; a plain .json file must be named by a
    user task (spiff formJsonSchemaFilename / formUiSchemaFilename), else it is refused."""
    referenced: dict[str, tuple[str, str]] = {}
    for model in models:
        for task in model.user_tasks:
            if task.form_file and task.form_key:
                referenced.setdefault(task.form_file, ("schema", task.form_key))
                if task.ui_form_file:
                    referenced.setdefault(task.ui_form_file, ("ui", task.form_key))
    parts: dict[str, tuple[str, str]] = {}
    errors = []
    for name, (kind, _content) in named.items():
        if kind == "form":
            parts[name] = form_service.form_file_kind(name)  # type: ignore[assignment]
        elif kind == "json":
            if name in referenced:
                parts[name] = referenced[name]
            else:
                errors.append({"file": name, "message": "a .json file must be named by a user task "
                               "(formJsonSchemaFilename / formUiSchemaFilename) or end in .schema.json / .uischema.json"})
    if errors:
        raise ValidationFailedError("some files cannot be deployed", errors)
    return parts


def _parse_forms(named: dict[str, tuple[str, bytes]], form_parts: dict[str, tuple[str, str]]
                 ) -> dict[str, dict[str, Any]]:
    """form_key -> {'schema': dict|None, 'ui': dict|None}, every schema checked."""
    forms: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, Any]] = []
    for name, (_kind, content) in named.items():
        if name not in form_parts:
            continue
        part, key = form_parts[name]
        try:
            doc = form_service.parse_schema_file(name, content)
            if part == "schema":
                form_service.check_json_schema(name, doc)
        except ValidationFailedError as exc:
            errors.extend(exc.errors)
            continue
        forms.setdefault(key, {"schema": None, "ui": None})[part] = doc
    for key, parts in forms.items():
        if parts["schema"] is None:
            errors.append({"file": f"{key}.uischema.json", "message": f"UI schema without a schema for form {key!r}"})
    if errors:
        raise ValidationFailedError("some forms are invalid", errors)
    return forms


def _check_due_dates(models: list[Any]) -> None:
    """A dueIn that is not an ISO 8601 duration is refused at deployment, not discovered on a task."""
    errors = []
    for model in models:
        for task in model.user_tasks:
            problem = due_in_problem(task.due_in) if task.due_in else None
            if problem:
                errors.append({"file": model.file, "elementId": task.element_id, "message": f"dueIn: {problem}"})
    if errors:
        raise ValidationFailedError("user tasks have due dates that are not ISO 8601 durations", errors)


def _check_form_references(models: list[Any], forms: dict[str, dict[str, Any]]) -> None:
    """Every form file a user task names must come with the deployment or be deployed already."""
    errors = []
    for model in models:
        for task in model.user_tasks:
            if task.form_file and task.form_key not in forms and form_service.latest_form(task.form_key) is None:
                errors.append({"file": model.file, "elementId": task.element_id,
                               "message": f"form file {task.form_file!r} is neither in this deployment nor deployed"})
    if errors:
        raise ValidationFailedError("user tasks name forms that do not exist", errors)


def _store_form(deployment: Deployment, key: str, schema: dict[str, Any], ui: dict[str, Any] | None) -> None:
    checksum = _sha256(repr((schema, ui)).encode())
    current = form_service.latest_form(key)
    if current is not None and current.checksum == checksum:
        return
    db.session.add(FormDefinition(form_key=key, version=(current.version + 1) if current else 1,
                                  checksum=checksum, schema=schema, ui_schema=ui, deployment_id=deployment.id))


def _deploy_forms(deployment: Deployment, forms: dict[str, dict[str, Any]], models: list[Any]) -> None:
    for key, parts in forms.items():
        _store_form(deployment, key, parts["schema"], parts["ui"])
    for model in models:
        for key, schema in model.generated_forms.items():
            _store_form(deployment, key, schema, None)


def _deploy_process(deployment: Deployment, model: Any, file_row: DeploymentFile,
                    actor: User) -> tuple[ProcessDefinition, bool]:
    checksum = _sha256(file_row.content + b"\0" + model.key.encode())
    current = latest_definition(model.key)
    if current is not None and current.checksum == checksum:
        return current, False
    definition = ProcessDefinition(
        key=model.key, version=next_version(model.key), name=model.name or model.key, checksum=checksum,
        deployment_id=deployment.id, bpmn_file_id=file_row.id, spec=model.spec,
        model=_model_summary(model), deployed_by=actor.username,
    )
    db.session.add(definition)
    db.session.flush()
    return definition, True


def _model_summary(model: Any) -> dict[str, Any]:
    return {
        "user_tasks": [asdict(t) for t in model.user_tasks],
        "service_tasks": [asdict(t) for t in model.service_tasks],
        "searchable_variables": list(model.searchable_variables),
        "element_ids": list(model.element_ids),
        "called_processes": list(model.called_processes),
        "called_versions": dict(model.called_versions),
    }


def list_definitions(key: str | None = None) -> list[ProcessDefinition]:
    """Definitions, latest first, optionally of one key."""
    stmt = select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version.desc())
    if key:
        stmt = stmt.where(ProcessDefinition.key == key)
    return list(db.session.scalars(stmt))
