"""The registry over REST: a person's or an employer's whole record (each read logged), and searches.

Amounts are JSON numbers with two decimals; dates are ISO 8601.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import jsonify, request

from app.api import api_bp
from app.api.helpers import current_user, in_transaction
from app.api.views import iso
from app.errors import BadRequestError
from app.models.registry import Employer, Person
from app.services import registry
from app.services.registry import CaseView, ContributionSummary, EmployerRecord, PersonRecord


def amount(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def plain(value: Any) -> Any:
    """A database value as JSON (for rows read without a model, such as documents)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def case_json(view: CaseView) -> dict[str, Any]:
    c = view.case
    return {"number": c.number, "type": c.case_type, "processKey": c.process_key, "channel": c.channel,
            "status": c.status, "summary": c.summary, "openedAt": iso(c.opened_at), "closedAt": iso(c.closed_at),
            "processInstanceId": c.process_instance_id, "instanceStatus": view.instance_status,
            "currentSteps": [{**s, "dueAt": iso(s["dueAt"])} for s in view.steps]}


def contributions_json(summary: ContributionSummary) -> dict[str, Any]:
    return {
        "totalDays": summary.total_days, "months": summary.months, "firstPeriod": summary.first_period,
        "lastPeriod": summary.last_period,
        "byYear": [{k: amount(v) if isinstance(v, Decimal) else v for k, v in y.items()} for y in summary.by_year],
        "recent": [{"period": li.period, "establishment": li.establishment, "employerName": li.employer_name,
                    "days": li.days, "grossWage": amount(li.gross_wage), "cappedWage": amount(li.capped_wage),
                    "employeeShare": amount(li.employee_share), "employerShare": amount(li.employer_share),
                    "status": li.status} for li in summary.recent],
    }


def person_summary_json(p: Person) -> dict[str, Any]:
    return {"ssn": p.ssn, "lastName": p.last_name, "firstNames": p.first_names, "birthName": p.birth_name,
            "birthDate": day(p.birth_date), "sex": p.sex, "city": p.city, "lifeStatus": p.life_status}


def person_record_json(record: PersonRecord) -> dict[str, Any]:
    p = record.person
    today = date.today()
    return {
        **person_summary_json(p),
        "birthPlace": p.birth_place,
        "address": {"line": p.address_line, "postalCode": p.postal_code, "city": p.city, "country": p.country},
        "phone": p.phone, "email": p.email, "iban": p.iban, "deathDate": day(p.death_date),
        "employments": [{
            "id": e.id, "establishment": e.establishment.number, "establishmentName": e.establishment.name,
            "employerNumber": e.establishment.employer.number, "employerName": e.establishment.employer.legal_name,
            "startDate": day(e.start_date), "endDate": day(e.end_date), "jobTitle": e.job_title,
            "branches": e.branches, "open": e.end_date is None or e.end_date >= today,
        } for e in record.employments],
        "contributions": contributions_json(record.contributions),
        "cases": [case_json(v) for v in record.cases],
        "payments": [{"id": pay.id, "kind": pay.kind, "amount": amount(pay.amount), "date": day(pay.payment_date),
                      "status": pay.status, "method": pay.method, "reference": pay.reference}
                     for pay in record.payments],
        "documents": [{k: plain(v) for k, v in d.items()} for d in record.documents],
    }


def employer_summary_json(e: Employer) -> dict[str, Any]:
    return {"number": e.number, "legalName": e.legal_name, "tradeName": e.trade_name, "activity": e.activity,
            "riskClass": e.risk_class, "registeredOn": day(e.registered_on), "status": e.status}


def employer_record_json(record: EmployerRecord) -> dict[str, Any]:
    e = record.employer
    by_id = {est.id: est for est in record.establishments}
    return {
        **employer_summary_json(e),
        "establishments": [{
            "number": est.number, "suffix": est.suffix, "name": est.name, "isHeadquarters": est.is_headquarters,
            "headquarters": by_id[est.headquarters_id].number if est.headquarters_id in by_id else None,
            "declaredByHeadquarters": est.declared_by_headquarters,
            "address": {"line": est.address_line, "postalCode": est.postal_code, "city": est.city},
            "headcount": record.headcount.get(est.id, 0),
        } for est in record.establishments],
        "declarations": [{k: amount(v) if isinstance(v, Decimal) else v for k, v in d.items()}
                         for d in record.declarations],
        "debt": {"amount": amount(record.debt.amount), "periods": record.debt.periods,
                 "overdueUpTo": record.last_overdue_period},
        "employees": [{"ssn": p.ssn, "name": p.full_name, "establishment": by_id[emp.establishment_id].number,
                       "startDate": day(emp.start_date), "endDate": day(emp.end_date), "jobTitle": emp.job_title}
                      for emp, p in record.employees],
        "cases": [case_json(v) for v in record.cases],
        "documents": [{k: plain(v) for k, v in d.items()} for d in record.documents],
    }


def _limit() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise BadRequestError("limit must be an integer from 1 to 200", [{"field": "limit", "message": "1..200"}])
    return int(raw)


@api_bp.get("/persons/<path:ssn>")
def get_person_record(ssn: str):  # type: ignore[no-untyped-def]
    record = in_transaction(lambda: registry.person_record(ssn, current_user()))
    return jsonify(person_record_json(record))


@api_bp.get("/persons")
def search_persons():  # type: ignore[no-untyped-def]
    raw_date = request.args.get("birthDate")
    birth_date = None
    if raw_date:
        try:
            birth_date = date.fromisoformat(raw_date)
        except ValueError:
            raise BadRequestError("birthDate must be a date YYYY-MM-DD",
                                  [{"field": "birthDate", "message": "YYYY-MM-DD"}]) from None
    items, total = registry.search_persons(request.args.get("q"), birth_date, current_user(), _limit())
    return jsonify({"items": [person_summary_json(p) for p in items], "page": {"totalItems": total,
                                                                               "endCursor": None}})


@api_bp.get("/employers/<path:number>")
def get_employer_record(number: str):  # type: ignore[no-untyped-def]
    record = in_transaction(lambda: registry.employer_record(number, current_user()))
    return jsonify(employer_record_json(record))


@api_bp.get("/employers")
def search_employers():  # type: ignore[no-untyped-def]
    items, total = registry.search_employers(request.args.get("q", ""), current_user(), _limit())
    return jsonify({"items": [employer_summary_json(e) for e in items], "page": {"totalItems": total,
                                                                                 "endCursor": None}})


# -- OpenAPI ------------------------------------------------------------------------------------
from app.api.openapi import ANYOBJ, BOOL, DT, EXTRA_PATHS, INT, NSTR, SCHEMAS, STR, obj, op, ref

_NUM = {"type": "number"}
_DATE = {"type": "string", "format": "date", "nullable": True}
_LIST = lambda schema: {"type": "array", "items": schema}
_ADDRESS = obj({"line": NSTR, "postalCode": NSTR, "city": NSTR, "country": NSTR})

SCHEMAS.update({
    "PersonSummary": obj({"ssn": STR, "lastName": STR, "firstNames": STR, "birthName": NSTR, "birthDate": _DATE,
                          "sex": {"type": "string", "enum": ["M", "F"]}, "city": NSTR,
                          "lifeStatus": {"type": "string", "enum": ["alive", "deceased"]}}),
    "CaseSummary": obj({"number": STR, "type": STR, "processKey": NSTR, "channel": STR, "status": STR,
                        "summary": NSTR, "openedAt": DT, "closedAt": DT, "processInstanceId": {
                            "type": "integer", "nullable": True}, "instanceStatus": NSTR,
                        "currentSteps": _LIST(obj({"elementId": STR, "name": NSTR, "queue": NSTR, "assignee": NSTR,
                                                   "taskId": {"type": "integer", "nullable": True},
                                                   "dueAt": DT}))}),
    "PersonRecord": {"allOf": [ref("PersonSummary"), obj({
        "birthPlace": NSTR, "address": _ADDRESS, "phone": NSTR, "email": NSTR, "iban": NSTR, "deathDate": _DATE,
        "employments": _LIST(obj({"id": INT, "establishment": STR, "establishmentName": STR,
                                  "employerNumber": STR, "employerName": STR, "startDate": _DATE,
                                  "endDate": _DATE, "jobTitle": NSTR, "branches": _LIST(STR), "open": BOOL})),
        "contributions": obj({
            "totalDays": INT, "months": INT, "firstPeriod": NSTR, "lastPeriod": NSTR,
            "byYear": _LIST(obj({"year": INT, "days": INT, "grossWage": _NUM, "cappedWage": _NUM,
                                 "employeeShare": _NUM, "employerShare": _NUM})),
            "recent": _LIST(obj({"period": STR, "establishment": STR, "employerName": STR, "days": INT,
                                 "grossWage": _NUM, "cappedWage": _NUM, "employeeShare": _NUM,
                                 "employerShare": _NUM, "status": {"type": "string", "enum": ["due", "paid"]}}))}),
        "cases": _LIST(ref("CaseSummary")),
        "payments": _LIST(obj({"id": INT, "kind": STR, "amount": _NUM, "date": _DATE, "status": STR, "method": STR,
                               "reference": NSTR})),
        "documents": _LIST(ANYOBJ)})]},
    "EmployerSummary": obj({"number": STR, "legalName": STR, "tradeName": NSTR, "activity": NSTR, "riskClass": INT,
                            "registeredOn": _DATE, "status": STR}),
    "EmployerRecord": {"allOf": [ref("EmployerSummary"), obj({
        "establishments": _LIST(obj({"number": STR, "suffix": STR, "name": STR, "isHeadquarters": BOOL,
                                     "headquarters": NSTR, "declaredByHeadquarters": BOOL, "address": _ADDRESS,
                                     "headcount": INT})),
        "declarations": _LIST(obj({"period": STR, "lines": INT, "days": INT, "grossWage": _NUM,
                                   "contributions": _NUM, "unpaid": _NUM})),
        "debt": obj({"amount": _NUM, "periods": _LIST(STR), "overdueUpTo": STR}),
        "employees": _LIST(obj({"ssn": STR, "name": STR, "establishment": STR, "startDate": _DATE,
                                "endDate": _DATE, "jobTitle": NSTR})),
        "cases": _LIST(ref("CaseSummary")), "documents": _LIST(ANYOBJ)})]},
    "PersonPage": obj({"items": _LIST(ref("PersonSummary")), "page": ref("PageInfo")}),
    "EmployerPage": obj({"items": _LIST(ref("EmployerSummary")), "page": ref("PageInfo")}),
})


def _param(name: str, where: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "description": description,
            "schema": schema or STR}


_LIMIT = _param("limit", "query", "page size (1..200, default 50)", INT)
EXTRA_PATHS.update({
    "/persons/{ssn}": {"get": op(
        "A person's whole record (identity, employments, contributions, open cases, payments, documents); "
        "the read is logged", ref("PersonRecord"), errors=(400, 403, 404), tag="registry",
        params=[_param("ssn", "path", "13 digits + 2-digit mod-97 key (spaces allowed); 400 names a wrong key")])},
    "/persons": {"get": op(
        "Search persons by name words, SSN prefix and/or birth date", ref("PersonPage"), errors=(400, 403),
        tag="registry", params=[_param("q", "query", "name words or the start of an SSN"),
                                _param("birthDate", "query", "YYYY-MM-DD", {"type": "string", "format": "date"}),
                                _LIMIT])},
    "/employers/{number}": {"get": op(
        "An employer's whole record (establishments, declarations, debt, employees, open cases); logged",
        ref("EmployerRecord"), errors=(400, 403, 404), tag="registry",
        params=[_param("number", "path", "7 digits + 2-digit key, optionally /000 (establishment)")])},
    "/employers": {"get": op("Search employers by name words or number prefix", ref("EmployerPage"),
                             errors=(400, 403), tag="registry",
                             params=[_param("q", "query", "name words or the start of a number"), _LIMIT])},
})
