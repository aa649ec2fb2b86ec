"""Cases run by a process: open a case and start its process, list its documents, update it from a process.

A case is a process instance with a case number (its business key), a subject (a person's SSN or
an employer's number), a type and a channel. `open_case_process` checks everything a counter agent
types before anything is written (SSN key, employer number key, subject known to the registry,
process deployed, case type allowed by the process, channel), opens the case with its gap-free
number and starts the process with the case's variables, in one transaction:

  case_number, case_type, case_process, channel, subject, subject_type, subject_name,
  contact_email (None when unknown), and ssn (persons) or employer_number (employers).

The shipped processes (bpmn/) rely on these names. A process closes its case with the operation
`cases.update`; a process called by another one (document_submission inside benefit_payment)
names `only_for_process` so that only the case's own process closes it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from app.errors import NotFoundError, ValidationFailedError
from app.extensions import db
from app.models import ProcessInstance, User
from app.models._types import utcnow
from app.models.document import Document
from app.models.registry import CASE_STATUSES, Case
from app.services import processes, projections, registry
from app.services.benefits import BENEFITS
from app.services.permissions import require_role

CHANNELS = ("counter", "mail", "phone", "portal")
_CASE_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_SEPARATORS = re.compile(r"[\s.\-]")
MAX_SUMMARY = 255
PENDING_DOCUMENT_STATUSES = ("received", "processing")


@dataclass(frozen=True)
class CaseKind:
    """What a process accepts as a case: case types (None: any), a default type, subjects, start variables."""

    case_types: tuple[str, ...] | None = None
    default_type: str | None = None
    subject_types: tuple[str, ...] = ("person", "employer")
    required_variables: tuple[str, ...] = ()


# The shipped processes; any other deployed process accepts any case type and subject.
CASE_KINDS: dict[str, CaseKind] = {
    "document_submission": CaseKind(),
    "first_level_inquiry": CaseKind(default_type="inquiry", required_variables=("question",)),
    "technical_escalation": CaseKind(default_type="escalation", required_variables=("question",)),
    "benefit_payment": CaseKind(case_types=BENEFITS, subject_types=("person",)),
}


@dataclass(frozen=True)
class Subject:
    type: str  # person | employer
    value: str
    name: str
    email: str | None


def _invalid(field: str, message: str, detail: str | None = None) -> ValidationFailedError:
    return ValidationFailedError(detail or f"{field}: {message}", [{"field": field, "message": message}])


def resolve_subject(raw: Any) -> Subject:
    """A person (SSN) or an employer (number) of the registry; 400 for a malformed number or a wrong key,
    422 for a number nobody has."""
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid("subject", "required: a social security number or an employer number")
    compact = _SEPARATORS.sub("", raw)
    try:
        if len(compact) == 15:
            person = registry.get_person(registry.clean_ssn(raw, "subject"))
            return Subject("person", person.ssn, person.full_name, person.email or None)
        number, _suffix = registry.clean_employer_number(raw, "subject")
        employer = registry.get_employer(number)
        return Subject("employer", employer.number, employer.legal_name, None)
    except NotFoundError as exc:
        raise _invalid("subject", "unknown to the registry", f"subject: {exc.detail}") from None


def _case_type(kind: CaseKind, raw: Any, process_key: str) -> str:
    value = raw if raw not in (None, "") else kind.default_type
    if not isinstance(value, str) or not _CASE_TYPE.match(value):
        raise _invalid("caseType", "required: lower-case letters, digits and underscores (at most 40)")
    if kind.case_types is not None and value not in kind.case_types:
        raise _invalid("caseType", f"{process_key} handles {', '.join(kind.case_types)}",
                       f"caseType {value!r}: {process_key} handles {', '.join(kind.case_types)}")
    return value


def case_variables(case: Case, subject: Subject, process_key: str) -> dict[str, Any]:
    """The variables a case's process starts with (see the module docstring)."""
    variables: dict[str, Any] = {
        "case_number": case.number, "case_type": case.case_type, "case_process": process_key,
        "channel": case.channel, "subject": subject.value, "subject_type": subject.type,
        "subject_name": subject.name, "contact_email": subject.email,
    }
    variables["ssn" if subject.type == "person" else "employer_number"] = subject.value
    return variables


def open_case_process(process_key: Any, subject_raw: Any, case_type: Any, channel: Any, actor: User, *,
                      summary: Any = None, variables: Any = None) -> tuple[Case, ProcessInstance]:
    """Check the input, open a case and start its process (business key = case number); the caller commits."""
    require_role(actor, registry.READ_RECORD_ROLES, "open cases")
    if not isinstance(process_key, str) or not process_key:
        raise _invalid("processDefinitionKey", "required")
    extra = processes.check_variables(variables)
    definition = processes.get_definition(process_key)  # 404 when not deployed
    kind = CASE_KINDS.get(process_key, CaseKind())
    if channel not in CHANNELS:
        raise _invalid("channel", f"one of {', '.join(CHANNELS)}")
    case_type = _case_type(kind, case_type, process_key)
    if summary is not None and (not isinstance(summary, str) or len(summary) > MAX_SUMMARY):
        raise _invalid("summary", f"text of at most {MAX_SUMMARY} characters")
    subject = resolve_subject(subject_raw)
    if subject.type not in kind.subject_types:
        raise _invalid("subject", f"{process_key} is for a {' or '.join(kind.subject_types)}, "
                                  f"not an {subject.type}")
    missing = [name for name in kind.required_variables if extra.get(name) in (None, "")]
    if missing:
        raise ValidationFailedError(f"{process_key} needs {', '.join(missing)}",
                                    [{"field": f"variables.{name}", "message": "required"} for name in missing])
    registry.log_record_access(actor, subject.type, subject.value, "case")
    case = registry.open_case(subject.value, case_type, channel, actor.username, process_key=definition.key,
                              summary=summary)
    return case, start_case_process(case, subject, actor, extra)


def start_case_process(case: Case, subject: Subject, actor: User, variables: dict[str, Any] | None = None
                       ) -> ProcessInstance:
    """Start the process of an open case (its process_key) with the case's variables and link them."""
    key = case.process_key or ""
    # The case's own variables win over the caller's: processes rely on them.
    start_variables = {**(variables or {}), **case_variables(case, subject, key)}
    instance = processes.start_process(key, actor, business_key=case.number, variables=start_variables)
    case.process_instance_id = instance.id
    db.session.flush()
    return instance


def get_case(number: str, reader: User) -> Case:
    """A case by number (the read of its subject is logged), else 404."""
    require_role(reader, registry.READ_RECORD_ROLES, "read cases")
    case = db.session.scalar(select(Case).where(Case.number == number.strip().upper()))
    if case is None:
        raise NotFoundError(f"no case {number!r}")
    registry.log_record_access(reader, case.subject_type, case.subject, "case")
    return case


def _case_by_number(number: Any) -> Case:
    case = db.session.scalar(select(Case).where(Case.number == number)) if isinstance(number, str) else None
    if case is None:
        raise NotFoundError(f"no case {number!r}")
    return case


# -- what the operations of the shipped processes do (workers/operations/cases.py) ---------------

def case_documents(case_number: Any, instance_id: int) -> dict[str, Any]:
    """The documents filed on a case (or on its process instance): read types, pending and unreadable ones."""
    case = _case_by_number(case_number)
    conditions = [Document.case_id == case.id, Document.process_instance_id == instance_id]
    if case.process_instance_id is not None:
        conditions.append(Document.process_instance_id == case.process_instance_id)
    rows = list(db.session.scalars(select(Document).where(or_(*conditions)).order_by(Document.id)))
    documents = [{"id": d.id, "type": d.document_type, "status": d.status, "receiptNumber": d.receipt_number,
                  "pages": d.pages, "name": d.original_name} for d in rows]
    return {
        "documents": documents,
        "types": sorted({d.document_type for d in rows if d.status == "indexed"}),
        "pending": sum(1 for d in rows if d.status in PENDING_DOCUMENT_STATUSES),
        "unreadable": sorted({d.document_type for d in rows if d.status == "failed"}),
    }


def update_case(case_number: Any, instance_id: int, actor: str, *, status: Any = None, outcome: Any = None,
                only_for_process: Any = None) -> dict[str, Any]:
    """Record a process's outcome on its case; the status changes only when the case belongs to that process."""
    case = _case_by_number(case_number)
    if status is not None and status not in CASE_STATUSES:
        raise ValueError(f"case status {status!r} is not one of {', '.join(CASE_STATUSES)}")
    applies = only_for_process in (None, "") or case.process_key == only_for_process
    if applies and status is not None and case.status != status:
        case.status = status
        case.closed_at = utcnow() if status in ("closed", "cancelled") else None
    text = str(outcome)[:MAX_SUMMARY] if outcome not in (None, "") else None
    projections.record_event(instance_id, "case_updated", actor, details={
        "caseNumber": case.number, "status": case.status, "outcome": text, "statusChanged": applies})
    db.session.flush()
    return {"caseNumber": case.number, "status": case.status, "outcome": text}
