"""ISO 20022 customer credit transfer initiation (pain.001.001.03): build a batch file and check it.

`build_batch` writes one group header and one payment information block (one debtor account, one
requested execution date) with one credit transfer per payment; `check_batch` parses a file back
and verifies what a bank checks first: the namespace, the mandatory elements, the number of
transactions and the control sums (group header and payment block) against the transactions,
amounts (positive, at most two decimals), the IBANs (ISO 13616) and the field lengths of the
standard. No XSD is shipped; these checks cover what this builder can get wrong.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from workflows.helpers import is_valid_iban

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
_NS = {"p": NAMESPACE}
MAX_ID = 35
MAX_NAME = 70
MAX_REMITTANCE = 140
_SAFE = {ord(c): " " for c in "<>&\"'\r\n\t"}


class BatchError(ValueError):
    """A batch that cannot be built, or a file that does not pass the checks."""


@dataclass(frozen=True)
class CreditTransfer:
    """One payment of the batch: who gets how much on which account, and why."""

    end_to_end_id: str
    amount: Decimal
    creditor_name: str
    creditor_iban: str
    remittance: str


@dataclass(frozen=True)
class Debtor:
    name: str
    iban: str
    bic: str


@dataclass(frozen=True)
class BatchSummary:
    """What a checked file contains."""

    message_id: str
    number_of_transactions: int
    control_sum: Decimal
    execution_date: str
    end_to_end_ids: list[str]


def _text(value: str, limit: int) -> str:
    """Plain text for a pain.001 field: no markup characters, single spaces, cut at the field's length."""
    return " ".join(str(value).translate(_SAFE).split())[:limit]


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", **attrs)
    if text is not None:
        element.text = text
    return element


def _check_transfer(t: CreditTransfer) -> None:
    if not t.end_to_end_id or len(t.end_to_end_id) > MAX_ID:
        raise BatchError(f"end-to-end id {t.end_to_end_id!r}: 1 to {MAX_ID} characters")
    if t.amount <= 0 or t.amount != t.amount.quantize(Decimal("0.01")):
        raise BatchError(f"{t.end_to_end_id}: amount {t.amount} must be positive with at most two decimals")
    if not is_valid_iban(t.creditor_iban):
        raise BatchError(f"{t.end_to_end_id}: creditor IBAN {t.creditor_iban!r} is not valid")


def build_batch(message_id: str, created: datetime, execution_date: date, debtor: Debtor,
                transfers: Sequence[CreditTransfer], currency: str = "EUR") -> bytes:
    """The pain.001.001.03 XML of a batch (UTF-8, with declaration)."""
    if not transfers:
        raise BatchError("a batch needs at least one credit transfer")
    if not message_id or len(message_id) > MAX_ID:
        raise BatchError(f"message id {message_id!r}: 1 to {MAX_ID} characters")
    if not is_valid_iban(debtor.iban):
        raise BatchError(f"debtor IBAN {debtor.iban!r} is not valid")
    for t in transfers:
        _check_transfer(t)
    ids = [t.end_to_end_id for t in transfers]
    if len(set(ids)) != len(ids):
        raise BatchError("end-to-end ids must be unique within a batch")
    count, total = str(len(transfers)), _amount(sum((t.amount for t in transfers), Decimal(0)))

    root = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    initiation = _sub(root, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", created.replace(microsecond=0, tzinfo=None).isoformat())
    _sub(header, "NbOfTxs", count)
    _sub(header, "CtrlSum", total)
    _sub(_sub(header, "InitgPty"), "Nm", _text(debtor.name, MAX_NAME))

    block = _sub(initiation, "PmtInf")
    _sub(block, "PmtInfId", f"{message_id[:31]}-001")
    _sub(block, "PmtMtd", "TRF")
    _sub(block, "BtchBookg", "true")
    _sub(block, "NbOfTxs", count)
    _sub(block, "CtrlSum", total)
    _sub(_sub(_sub(block, "PmtTpInf"), "SvcLvl"), "Cd", "SEPA")
    _sub(block, "ReqdExctnDt", execution_date.isoformat())
    _sub(_sub(block, "Dbtr"), "Nm", _text(debtor.name, MAX_NAME))
    _sub(_sub(_sub(block, "DbtrAcct"), "Id"), "IBAN", debtor.iban.replace(" ", "").upper())
    _sub(_sub(_sub(block, "DbtrAgt"), "FinInstnId"), "BIC", debtor.bic)
    _sub(block, "ChrgBr", "SLEV")
    for t in transfers:
        transaction = _sub(block, "CdtTrfTxInf")
        _sub(_sub(transaction, "PmtId"), "EndToEndId", t.end_to_end_id)
        _sub(_sub(transaction, "Amt"), "InstdAmt", _amount(t.amount), Ccy=currency)
        _sub(_sub(transaction, "Cdtr"), "Nm", _text(t.creditor_name, MAX_NAME))
        _sub(_sub(_sub(transaction, "CdtrAcct"), "Id"), "IBAN", t.creditor_iban.replace(" ", "").upper())
        _sub(_sub(transaction, "RmtInf"), "Ustrd", _text(t.remittance, MAX_REMITTANCE))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _one(parent: etree._Element, path: str, what: str) -> etree._Element:
    found = parent.xpath(path, namespaces=_NS)
    if len(found) != 1:
        raise BatchError(f"{what}: expected one {path}, found {len(found)}")
    return found[0]


def _decimal(text: str | None, what: str) -> Decimal:
    try:
        value = Decimal(text or "")
    except InvalidOperation:
        raise BatchError(f"{what}: {text!r} is not an amount") from None
    if value <= 0 or value != value.quantize(Decimal("0.01")):
        raise BatchError(f"{what}: {text} must be positive with at most two decimals")
    return value


def check_batch(data: bytes) -> BatchSummary:
    """Parse a pain.001.001.03 file and check its structure, counts, control sums, amounts and IBANs."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise BatchError(f"not well-formed XML: {exc}") from None
    if root.tag != f"{{{NAMESPACE}}}Document":
        raise BatchError(f"root element {root.tag!r} is not a pain.001.001.03 Document")
    header = _one(root, "p:CstmrCdtTrfInitn/p:GrpHdr", "group header")
    message_id = _one(header, "p:MsgId", "group header").text or ""
    if not message_id or len(message_id) > MAX_ID:
        raise BatchError(f"MsgId {message_id!r}: 1 to {MAX_ID} characters")
    blocks = root.xpath("p:CstmrCdtTrfInitn/p:PmtInf", namespaces=_NS)
    if not blocks:
        raise BatchError("no payment information block (PmtInf)")
    all_amounts: list[Decimal] = []
    end_to_end: list[str] = []
    dates = []
    for block in blocks:
        if not is_valid_iban(_one(block, "p:DbtrAcct/p:Id/p:IBAN", "debtor account").text):
            raise BatchError("the debtor IBAN is not valid")
        dates.append(_one(block, "p:ReqdExctnDt", "payment block").text or "")
        amounts = []
        for transaction in block.xpath("p:CdtTrfTxInf", namespaces=_NS):
            e2e = _one(transaction, "p:PmtId/p:EndToEndId", "transaction").text or ""
            amount = _one(transaction, "p:Amt/p:InstdAmt", f"transaction {e2e}")
            if not amount.get("Ccy"):
                raise BatchError(f"transaction {e2e}: the amount has no currency")
            amounts.append(_decimal(amount.text, f"transaction {e2e}"))
            iban = _one(transaction, "p:CdtrAcct/p:Id/p:IBAN", f"transaction {e2e}").text
            if not is_valid_iban(iban):
                raise BatchError(f"transaction {e2e}: creditor IBAN {iban!r} is not valid")
            name = _one(transaction, "p:Cdtr/p:Nm", f"transaction {e2e}").text or ""
            if not name or len(name) > MAX_NAME:
                raise BatchError(f"transaction {e2e}: creditor name of 1 to {MAX_NAME} characters")
            end_to_end.append(e2e)
        if not amounts:
            raise BatchError("a payment block without any transaction")
        if int(_one(block, "p:NbOfTxs", "payment block").text or "-1") != len(amounts):
            raise BatchError("the payment block's NbOfTxs does not match its transactions")
        if _decimal(_one(block, "p:CtrlSum", "payment block").text, "payment block CtrlSum") != sum(amounts):
            raise BatchError("the payment block's CtrlSum does not match its transactions")
        all_amounts += amounts
    if int(_one(header, "p:NbOfTxs", "group header").text or "-1") != len(all_amounts):
        raise BatchError("the group header's NbOfTxs does not match the transactions")
    control_sum = _decimal(_one(header, "p:CtrlSum", "group header").text, "group header CtrlSum")
    if control_sum != sum(all_amounts):
        raise BatchError("the group header's CtrlSum does not match the transactions")
    if len(set(end_to_end)) != len(end_to_end):
        raise BatchError("end-to-end ids are not unique")
    return BatchSummary(message_id=message_id, number_of_transactions=len(all_amounts), control_sum=control_sum,
                        execution_date=min(dates), end_to_end_ids=end_to_end)
