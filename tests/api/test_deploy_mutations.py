"""Mutation test of deployments: the repo's sample diagrams, damaged in deterministic ways, always get
201 or a 4xx problem+json (never a 500), and a refused deployment leaves no definition behind."""
from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from app.services import deployments
from tests.conftest import DATA

SAMPLES = sorted((DATA / "bpmn").glob("*.bpmn"))
BPMN_NS = b"http://www.omg.org/spec/BPMN/20100524/MODEL"
REFERENCES = ("id", "sourceRef", "targetRef", "attachedToRef", "calledElement", "messageRef", "default",
              "signalRef", "errorRef", "processRef")


def _elements(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter() if isinstance(el.tag, str) and el is not root]


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def mutations(path: Path) -> Iterator[tuple[str, bytes]]:
    """Deterministic damaged copies of one diagram (the random choices are seeded by its name)."""
    data = path.read_bytes()
    rng = random.Random(path.name)
    parse = lambda: etree.fromstring(data)  # a fresh tree per mutation

    for i in range(2):
        root = parse()
        candidates = [el for el in _elements(root) if any(a in el.attrib for a in REFERENCES)]
        el = rng.choice(candidates)
        attr = rng.choice([a for a in REFERENCES if a in el.attrib])
        del el.attrib[attr]
        yield f"drop-attr-{i}-{attr}", _serialize(root)
    for i in range(2):
        root = parse()
        el = rng.choice(_elements(root))
        el.getparent().remove(el)
        yield f"drop-element-{i}", _serialize(root)
    root = parse()
    with_ids = [el for el in _elements(root) if el.get("id")]
    first, second = rng.sample([el for el in with_ids if el.tag.startswith("{" + BPMN_NS.decode())], 2)
    second.set("id", first.get("id"))
    yield "duplicate-id", _serialize(root)
    for fraction in (0.3, 0.7, 0.999):
        yield f"truncate-{fraction}", data[: int(len(data) * fraction)]
    yield "namespace-swap-di", data.replace(BPMN_NS, b"http://www.omg.org/spec/BPMN/20100524/DI")
    yield "namespace-unknown", data.replace(BPMN_NS, b"urn:not-bpmn")
    middle = len(data) // 2
    yield "garbage-bytes", data[:middle] + b"\x00\xff<<&garbage;>" + data[middle:]
    root = parse()
    target = rng.choice([el for el in _elements(root) if len(el) == 0])
    target.text = (target.text or "") + "}} ]] ) garbage <not-xml> & \u0000".replace("\u0000", "")
    yield "garbage-text", _serialize(root)
    root = parse()
    rng.choice(with_ids).set("name", "N" * 400_000)
    yield "huge-attribute", _serialize(root)
    root = parse()
    el = rng.choice([e for e in _elements(root) if e.get("id")])
    el.set("id", "x" * 50_000)
    yield "huge-id", _serialize(root)
    root = parse()
    holder = root
    for _ in range(300):  # deeper than lxml accepts without huge_tree
        holder = etree.SubElement(holder, "{urn:junk}nest")
    yield "deep-xml", _serialize(root)
    yield "deep-subprocesses", _nested_subprocesses(data, 120)


def _nested_subprocesses(data: bytes, depth: int) -> bytes:
    """The diagram plus a process of `depth` embedded subprocesses, each containing the next."""
    inner = ""
    for level in reversed(range(depth)):
        inner = (f'<bpmn:subProcess id="sp{level}"><bpmn:startEvent id="s{level}"/>{inner}'
                 f'<bpmn:endEvent id="x{level}"/>'
                 + (f'<bpmn:sequenceFlow id="a{level}" sourceRef="s{level}" targetRef="sp{level + 1}"/>'
                    f'<bpmn:sequenceFlow id="b{level}" sourceRef="sp{level + 1}" targetRef="x{level}"/>'
                    if level + 1 < depth else
                    f'<bpmn:sequenceFlow id="a{level}" sourceRef="s{level}" targetRef="x{level}"/>')
                 + "</bpmn:subProcess>")
    process = (f'<bpmn:process id="deep_nesting" isExecutable="true"><bpmn:startEvent id="top"/>{inner}'
               '<bpmn:endEvent id="bottom"/><bpmn:sequenceFlow id="t1" sourceRef="top" targetRef="sp0"/>'
               '<bpmn:sequenceFlow id="t2" sourceRef="sp0" targetRef="bottom"/></bpmn:process>')
    closing = data.rindex(b"</")
    return data[:closing] + process.encode() + data[closing:]


def definition_ids(api) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(d["id"] for d in api.get("/process-definitions").get_json())


def companions(sample: Path) -> list[tuple[str, bytes]]:
    """What the sample needs in its deployment: the decisions and forms, the processes it calls, and a
    permissive stand-in for a form file the repo does not ship."""
    folder = sample.parent
    data = sample.read_bytes()
    files = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.suffix in (".dmn", ".json")]
    for called in sorted(set(re.findall(rb'calledElement="([^"]+)"', data))):
        files += [(p.name, p.read_bytes()) for p in SAMPLES if b'process id="' + called + b'"' in p.read_bytes()]
    for form in sorted(set(re.findall(rb'name="formJsonSchemaFilename" value="([^"]+)"', data))):
        if not (folder / form.decode()).exists():
            files.append((form.decode(), b'{"type": "object"}'))
    return files


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_damaged_sample_diagrams_never_500(analyst, sample, monkeypatch):  # type: ignore[no-untyped-def]
    # Whether a worker serves a topic is another test's business: here every topic is served.
    monkeypatch.setattr(deployments, "unknown_topic_errors", lambda models: [])
    extra = companions(sample)
    intact = analyst.deploy((sample.name, sample.read_bytes()), *extra)
    assert intact.status_code == 201, intact.get_json()
    outcomes = {}
    known = definition_ids(analyst)
    for name, content in mutations(sample):
        response = analyst.deploy((sample.name, content), *extra)
        outcomes[name] = response.status_code
        assert response.status_code == 201 or 400 <= response.status_code < 500, (name, response.get_data()[:500])
        now = definition_ids(analyst)
        if response.status_code != 201:
            assert response.mimetype == "application/problem+json", name
            assert response.get_json()["errors"], name
            assert now == known, f"{name}: a refused deployment left definitions behind"
        known = now
    # The damage is real: every truncation and broken reference is refused; harmless ones deploy.
    refused = {name for name, code in outcomes.items() if code != 201}
    assert {n for n in outcomes if n.startswith(("truncate", "namespace", "garbage-bytes", "deep-xml"))} <= refused
    assert "duplicate-id" in refused and "huge-attribute" not in refused, outcomes
