"""The registry over REST: identifier checks, the counter's view, searches, the access log, certificates."""
from __future__ import annotations

import io

import pdfplumber
import pytest
from sqlalchemy import select

from tests.api.test_smoke_flow import deploy_six_node
from tests.registry_data import Registry, make_registry, wrong_key


@pytest.fixture
def reg(app) -> Registry:  # type: ignore[no-untyped-def]
    return make_registry(app)


@pytest.fixture
def agent(login):  # type: ignore[no-untyped-def]
    return login("alice", "agent", ["agents", "counter"])


def test_a_wrong_ssn_key_is_a_400_naming_the_key(agent, reg):  # type: ignore[no-untyped-def]
    bad = wrong_key(reg.helene)
    response = agent.get(f"/persons/{bad}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert f"the key {bad[13:]} is wrong; the key of {bad[:13]} is {reg.helene[13:]}" in problem["detail"]
    assert problem["errors"][0]["field"] == "ssn"
    short = agent.get("/persons/12345").get_json()
    assert "5 characters; expected 15" in short["detail"]
    letters = agent.get("/persons/ABCDEFGHIJKLM55").get_json()
    assert "first 13 characters are not a valid number" in letters["detail"]


def test_unknown_ssn_is_a_404_and_spaces_are_allowed(agent, reg):  # type: ignore[no-untyped-def]
    from workflows.helpers import ssn_key
    other = "1991275123999"
    assert agent.get(f"/persons/{other}{ssn_key(other)}").status_code == 404
    spaced = " ".join([reg.helene[0], reg.helene[1:3], reg.helene[3:5], reg.helene[5:7], reg.helene[7:10],
                       reg.helene[10:13], reg.helene[13:]])
    assert agent.get(f"/persons/{spaced}").status_code == 200


def test_the_counter_view_of_a_person_and_the_access_log(app, agent, analyst, reg):  # type: ignore[no-untyped-def]
    # An open case whose process waits at a user task: the view shows that step.
    assert deploy_six_node(analyst).status_code == 201
    started = agent.post("/process-instances", json={"processDefinitionKey": "six_node", "businessKey": "DOS-1",
                                                     "variables": {"ssn": reg.helene}}).get_json()
    from app.extensions import db
    from app.services.registry import open_case
    with app.app_context():
        case = open_case(reg.helene, "sickness_allowance", "counter", "alice", process_key="six_node",
                         process_instance_id=started["id"], summary="Sick leave")
        number = case.number
        db.session.commit()
    assert number.startswith("DOS-") and number.endswith("-000001")

    response = agent.get(f"/persons/{reg.helene}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["lastName"], body["firstNames"], body["birthName"]) == ("Dupré", "Hélène", "Lefèvre")
    assert body["birthDate"] == "1985-07-14" and body["sex"] == "F" and body["lifeStatus"] == "alive"
    assert body["address"]["city"] == "Lyon" and body["iban"].startswith("FR76")
    employments = body["employments"]
    assert len(employments) == 2 and all(e["open"] for e in employments)
    assert {e["establishment"] for e in employments} == {f"{reg.employer}/000", f"{reg.debtor}/000"}
    contributions = body["contributions"]
    # 4 months with two employers: days count 30 a month at most.
    assert contributions["months"] == 4 and contributions["totalDays"] == 120
    assert contributions["lastPeriod"] == reg.last_period and len(contributions["recent"]) == 8
    line = next(li for li in contributions["recent"] if li["establishment"] == f"{reg.employer}/000")
    # 300,000 x 5.6 % = 16,800 for the employee; 8.4 + 7 + 2 = 17.4 % = 52,200 for the employer.
    assert (line["grossWage"], line["employeeShare"], line["employerShare"]) == (300000.0, 16800.0, 52200.0)
    [open_case_json] = body["cases"]
    assert open_case_json["number"] == number and open_case_json["processInstanceId"] == started["id"]
    assert open_case_json["instanceStatus"] == "running"
    assert [s["elementId"] for s in open_case_json["currentSteps"]] == ["Activity_review"]
    assert open_case_json["currentSteps"][0]["queue"] == "agents"
    assert [p["kind"] for p in body["payments"]] == ["sickness_allowance"]
    assert body["documents"] == [] or isinstance(body["documents"], list)

    from app.models.registry import RecordAccessLog
    with app.app_context():
        logs = db.session.scalars(select(RecordAccessLog).order_by(RecordAccessLog.id)).all()
        assert [(g.reader, g.subject_type, g.subject, g.purpose) for g in logs] == [
            ("alice", "person", reg.helene, "record")]
        assert logs[0].at is not None


def test_a_refused_read_is_not_logged_and_analysts_may_not_read(app, analyst, reg):  # type: ignore[no-untyped-def]
    assert analyst.get(f"/persons/{reg.helene}").status_code == 403
    assert analyst.get("/persons?q=dupre").status_code == 403
    from app.extensions import db
    from app.models.registry import RecordAccessLog
    with app.app_context():
        assert db.session.scalars(select(RecordAccessLog)).all() == []


def test_search_persons_by_name_birth_date_and_number(agent, reg):  # type: ignore[no-untyped-def]
    by_name = agent.get("/persons?q=helene dupre").get_json()
    assert [p["ssn"] for p in by_name["items"]] == [reg.helene] and by_name["page"]["totalItems"] == 1
    assert [p["ssn"] for p in agent.get("/persons?q=LEFEVRE").get_json()["items"]] == [reg.helene]
    assert [p["ssn"] for p in agent.get("/persons?q=mart").get_json()["items"]] == [reg.jean]
    assert [p["ssn"] for p in agent.get("/persons?birthDate=1960-01-05").get_json()["items"]] == [reg.jean]
    assert agent.get("/persons?q=jean&birthDate=1985-07-14").get_json()["items"] == []
    assert [p["ssn"] for p in agent.get(f"/persons?q={reg.helene[:7]}").get_json()["items"]] == [reg.helene]
    assert agent.get("/persons").status_code == 400
    assert agent.get("/persons?birthDate=14/07/1985").status_code == 400
    assert agent.get("/persons?q=x&limit=0").status_code == 400


def test_the_counter_view_of_an_employer(agent, reg):  # type: ignore[no-untyped-def]
    bad = agent.get(f"/employers/{wrong_key(reg.employer)}")
    assert bad.status_code == 400 and "the key" in bad.get_json()["detail"]
    assert agent.get("/employers/12345").status_code == 400
    from workflows.helpers import employer_key
    assert agent.get(f"/employers/1111111{employer_key('1111111')}").status_code == 404
    assert agent.get(f"/employers/{reg.employer}/009").status_code == 404

    body = agent.get(f"/employers/{reg.employer}/001").get_json()
    assert body["legalName"] == "Boulangerie Mercier SARL" and body["riskClass"] == 2
    hq, branch = body["establishments"]
    assert (hq["number"], hq["isHeadquarters"], hq["headquarters"], hq["headcount"]) == (
        f"{reg.employer}/000", True, None, 1)
    assert (branch["number"], branch["headquarters"], branch["declaredByHeadquarters"]) == (
        f"{reg.employer}/001", f"{reg.employer}/000", True)
    assert body["debt"] == {"amount": 0.0, "periods": [], "overdueUpTo": body["debt"]["overdueUpTo"]}
    assert [e["ssn"] for e in body["employees"]] == [reg.helene]
    assert len(body["declarations"]) == 4 and body["declarations"][0]["period"] == reg.last_period

    debtor = agent.get(f"/employers/{reg.debtor}").get_json()
    # 120,000 x (8.4 + 5.6 + 7 + 3) % = 28,800 a period, two periods unpaid after their due date.
    assert debtor["debt"]["amount"] == 57600.0 and debtor["debt"]["periods"] == reg.overdue_periods

    found = agent.get("/employers?q=boulangerie").get_json()
    assert [e["number"] for e in found["items"]] == [reg.employer]
    assert [e["number"] for e in agent.get(f"/employers?q={reg.debtor[:4]}").get_json()["items"]] == [reg.debtor]


def pdf_text(content: bytes) -> str:
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def test_affiliation_certificate_pdf_and_public_check(app, client, agent, reg):  # type: ignore[no-untyped-def]
    response = agent.post("/certificates", json={"type": "affiliation", "subject": reg.helene})
    assert response.status_code == 201, response.get_json()
    cert = response.get_json()
    year = cert["number"].split("-")[1]
    assert cert["number"] == f"ATT-{year}-000001"
    assert cert["type"] == "affiliation" and cert["subject"] == reg.helene and cert["subjectName"] == "Hélène Dupré"
    assert len(cert["verificationCode"]) == 14 and cert["verificationCode"].count("-") == 2
    assert cert["url"].endswith(f"/api/v1/certificates/{cert['id']}/pdf")
    assert "affiliated to the general social security scheme since 01/03/2020" in cert["statement"]["lines"][0]

    second = agent.post("/certificates", json={"type": "affiliation", "subject": reg.jean}).get_json()
    assert second["number"] == f"ATT-{year}-000002"  # gap-free per year

    pdf = agent.get(f"/certificates/{cert['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert cert["number"] in text and cert["verificationCode"] in text
    assert app.config["INSTITUTION_NAME"] in text and "Hélène Dupré" in text and "Affiliation certificate" in text
    assert "/verify/" in text

    page = client.get(f"/verify/{cert['verificationCode'].lower()}")  # no login; case and dashes forgiven
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Genuine certificate" in html and cert["number"] in html and "Hélène Dupré" in html
    assert reg.helene not in html.replace(" ", "")  # the full SSN is not shown publicly

    unknown = client.get("/verify/ABCD-EFGH-JKMN")
    assert unknown.status_code == 404
    assert "Not found" in unknown.get_data(as_text=True) and "Genuine" not in unknown.get_data(as_text=True)
    assert client.get("/verify/x").status_code == 404
    assert client.get(f"/verify?code={cert['verificationCode']}").status_code == 302

    from app.extensions import db
    from app.models.registry import RecordAccessLog
    with app.app_context():
        purposes = [g.purpose for g in db.session.scalars(select(RecordAccessLog).order_by(RecordAccessLog.id))]
        assert purposes == ["certificate:affiliation", "certificate:affiliation", "certificate_pdf"]


def test_no_debt_certificate_is_refused_while_the_employer_owes(app, agent, reg):  # type: ignore[no-untyped-def]
    refused = agent.post("/certificates", json={"type": "employer_no_debt", "subject": reg.debtor})
    assert refused.status_code == 409
    detail = refused.get_json()["detail"]
    assert "owes 57,600.00" in detail and reg.overdue_periods[0] in detail

    granted = agent.post("/certificates", json={"type": "employer_no_debt", "subject": reg.employer})
    assert granted.status_code == 201, granted.get_json()
    body = granted.get_json()
    assert body["validUntil"] and body["statement"]["facts"]["establishments"] == [
        f"{reg.employer}/000", f"{reg.employer}/001"]
    assert body["number"].endswith("-000001")  # the refusal took no number
    assert body["number"] in pdf_text(agent.get(f"/certificates/{body['id']}/pdf").data)


def test_contribution_statement_and_benefit_payment(agent, reg):  # type: ignore[no-untyped-def]
    statement = agent.post("/certificates", json={"type": "contribution_statement", "subject": reg.helene,
                                                  "periodFrom": reg.overdue_periods[0],
                                                  "periodTo": reg.last_period}).get_json()
    facts = statement["statement"]["facts"]
    # 4 months at 30 days; 300,000 + 120,000 a month; employee 5.6 % of 420,000 x 4 = 94,080.
    assert (facts["months"], facts["days"]) == (4, 120)
    assert facts["grossWage"] == "1680000.00" and facts["employeeShare"] == "94080.00"
    assert len(statement["statement"]["table"]["rows"]) == 8
    text = pdf_text(agent.get(f"/certificates/{statement['id']}/pdf").data)
    assert statement["number"] in text and "Contribution statement" in text and reg.last_period in text

    paid = agent.post("/certificates", json={"type": "benefit_payment", "subject": reg.jean}).get_json()
    assert paid["statement"]["facts"]["payments"] == 1 and paid["statement"]["facts"]["total"] == "150000.00"
    assert "Old-age pension" in pdf_text(agent.get(f"/certificates/{paid['id']}/pdf").data)


def test_certificate_bad_input(agent, analyst, reg):  # type: ignore[no-untyped-def]
    unknown_type = agent.post("/certificates", json={"type": "birth", "subject": reg.helene})
    assert unknown_type.status_code == 422 and unknown_type.get_json()["errors"][0]["field"] == "type"
    bad_key = agent.post("/certificates", json={"type": "affiliation", "subject": wrong_key(reg.helene)})
    assert bad_key.status_code == 400 and bad_key.get_json()["errors"][0]["field"] == "subject"
    assert agent.post("/certificates", json={"type": "employer_no_debt",
                                             "subject": wrong_key(reg.employer)}).status_code == 400
    assert agent.post("/certificates", json={"type": "affiliation"}).status_code == 400
    assert agent.post("/certificates", json={"type": "contribution_statement", "subject": reg.helene,
                                             "periodFrom": "2026-13"}).status_code == 400
    assert agent.post("/certificates", json={"type": "contribution_statement", "subject": reg.helene,
                                             "periodFrom": "2026-05", "periodTo": "2026-01"}).status_code == 422
    assert analyst.post("/certificates", json={"type": "affiliation", "subject": reg.helene}).status_code == 403
    assert agent.get("/certificates/999/pdf").status_code == 404


def test_openapi_describes_the_registry(client):  # type: ignore[no-untyped-def]
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/persons/{ssn}", "/persons", "/employers/{number}", "/employers", "/certificates",
                 "/certificates/{id}", "/certificates/{id}/pdf"):
        assert path in spec["paths"], path
    assert "PersonRecord" in spec["components"]["schemas"] and "Certificate" in spec["components"]["schemas"]
    assert "application/pdf" in spec["paths"]["/certificates/{id}/pdf"]["get"]["responses"]["200"]["content"]
