"""Hardened XML for BPMN and DMN: no DTDs, no entities, no network; errors carry the line."""
from __future__ import annotations

import re

from lxml import etree

from .errors import WorkflowError


class XmlRejectedError(WorkflowError):
    """The document is not acceptable XML (malformed, DTD, entities); `line` when known."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(message if line is None else f"line {line}: {message}")


_DECLARATION = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


def _make_xml_parser() -> etree.XMLParser:
    """An lxml parser that never resolves entities, loads DTDs or touches the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_blank_text=False)


def parse_secure_xml(data: bytes | str) -> etree._Element:
    """Parse XML safely; raise XmlRejectedError on syntax errors or any DOCTYPE/entity declaration."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    # Refuse before parsing too: a DOCTYPE is never needed in BPMN/DMN and is the vector of XXE/billion laughs.
    declaration = _DECLARATION.search(raw)
    if declaration is not None:
        line = raw[: declaration.start()].count(b"\n") + 1
        raise XmlRejectedError("DOCTYPE/DTD and entity declarations are not allowed", line)
    try:
        root = etree.fromstring(raw, parser=_make_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejectedError(f"malformed XML: {exc.msg}", exc.lineno) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlRejectedError("DOCTYPE/DTD declarations are not allowed")
    for _entity in root.iter(etree.Entity):
        raise XmlRejectedError("entity references are not allowed", _entity.sourceline)
    return root
