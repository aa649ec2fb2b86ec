"""Robustness sweep: a folder of BPMN/DMN diagrams through the plain library and through Guichet's API.

usage: .venv/bin/python bench/robustness/public_sweep.py FOLDER [--only NAME]

The diagrams are not part of the project (collect them from public projects into a scratch folder).
FOLDER holds one sub-folder per source (c7/, c8/, spiff/...). In each, a unit is a .bpmn/.dmn file
(optional sidecars NAME.vars.json = start variables, NAME.taskdata.json = {elementId: data} for user
tasks) or a folder deployed as one deployment (sidecars vars.json / taskdata.json inside).

For every unit: (a) the plain SpiffWorkflow library parses and runs it, completing manual tasks and
answering messages/signals; (b) it is deployed through the API of a throw-away app (temporary SQLite),
each executable process started and driven: open tasks claimed and completed with data satisfying
their form, messages/signals sent, timers fired, jobs run in-process by an echo operation. The report
lists every 5xx (always a bug), the 4xx deploy errors, and units the plain library completes but
Guichet does not. Probes: a non-executable diagram is also tried with isExecutable="true", and a
diagram naming form files its copy lacks is also tried with permissive stand-ins.
"""
from __future__ import annotations

import io
import json
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

SIDE = ("vars.json", "taskdata.json")


# ----------------------------------------------------------------------------------------------
def units(root: Path) -> list[tuple[str, list[Path], dict, dict]]:
    found = []
    for source in sorted(p for p in root.iterdir() if p.is_dir()):
        for entry in sorted(source.iterdir()):
            if entry.is_dir():
                files = sorted(f for f in entry.iterdir() if f.is_file() and f.name not in SIDE)
                vars_ = _load(entry / "vars.json")
                task = _load(entry / "taskdata.json")
                found.append((f"{source.name}/{entry.name}", files, vars_, task))
            elif entry.suffix in (".bpmn", ".dmn"):
                stem = entry.name[: -len(entry.suffix)]
                found.append((f"{source.name}/{entry.name}", [entry], _load(entry.parent / f"{stem}.vars.json"),
                              _load(entry.parent / f"{stem}.taskdata.json")))
    return found


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def called_elements(files: list[Path]) -> set[str]:
    out = set()
    for f in files:
        out |= set(re.findall(rb'calledElement="([^"]+)"', f.read_bytes()))
    return {c.decode() for c in out}


def executable_ids(data: bytes) -> list[str]:
    ids = []
    for m in re.finditer(rb"<(?:\w+:)?process\b([^>]*)>", data):
        attrs = m.group(1)
        pid = re.search(rb'\bid="([^"]+)"', attrs)
        exe = re.search(rb'isExecutable="([^"]+)"', attrs)
        if pid and (exe is None or exe.group(1) == b"true"):
            ids.append(pid.group(1).decode())
    return ids


# ----- plain library ---------------------------------------------------------------------------
def run_plain(files: list[Path], vars_: dict, taskdata: dict) -> dict[str, str]:
    from SpiffWorkflow.bpmn import BpmnEvent
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
    from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
    from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.parser import CamundaParser
    from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    class Env(TaskDataEnvironment):
        def call_service(self, context, operation_name, operation_params, task_data):
            return "{}"

    blob = b"".join(f.read_bytes() for f in files)
    if b"camunda.org/schema/1.0/bpmn" in blob:
        parser = CamundaParser()
    elif b"spiffworkflow.org" in blob:
        parser = SpiffBpmnParser()
    else:
        parser = BpmnDmnParser()
    results: dict[str, str] = {}
    try:
        for f in files:
            if f.suffix == ".bpmn":
                parser.add_bpmn_file(str(f))
            elif f.suffix == ".dmn":
                parser.add_dmn_file(str(f))
    except Exception as exc:  # noqa: BLE001
        return {"*": f"parse-error: {type(exc).__name__}: {str(exc)[:150]}"}
    called = called_elements(files)
    pids = [p for f in files if f.suffix == ".bpmn" for p in executable_ids(f.read_bytes()) if p not in called]
    if not pids:
        return {"*": "no executable process"}
    for pid in pids:
        try:
            spec = parser.get_spec(pid)
            subs = parser.get_subprocess_specs(pid)
            wf = BpmnWorkflow(spec, subs, script_engine=PythonScriptEngine(environment=Env()))
            start = wf.get_next_task(state=TaskState.READY)
            if vars_ and start is not None:
                start.set_data(**vars_)
            outcome = "stuck"
            sent: set[str] = set()
            for _ in range(60):
                wf.do_engine_steps()
                if wf.is_completed():
                    outcome = "completed"
                    break
                ready = wf.get_tasks(state=TaskState.READY, manual=True)
                if ready:
                    t = ready[0]
                    t.data.update(taskdata.get(t.task_spec.bpmn_id, {}))
                    t.run()
                    continue
                events = wf.waiting_events()
                progressed = False
                for ev in events:
                    if ev.event_type == "TimerEventDefinition":
                        continue
                    key = f"{ev.event_type}:{ev.name}"
                    if ev.event_type in ("MessageEventDefinition",) and key not in sent:
                        wf.send_event(BpmnEvent(MessageEventDefinition(ev.name), {}))
                        sent.add(key)
                        progressed = True
                        break
                    if ev.event_type in ("SignalEventDefinition",) and key not in sent:
                        wf.send_event(BpmnEvent(SignalEventDefinition(ev.name), {}))
                        sent.add(key)
                        progressed = True
                        break
                if progressed:
                    continue
                timers = [ev for ev in events if ev.event_type == "TimerEventDefinition"]
                if timers:
                    time.sleep(0.05)
                    wf.refresh_timers()
                    wf.do_engine_steps()
                    if wf.is_completed():
                        outcome = "completed"
                        break
                    if wf.waiting_events() and all(e.event_type == "TimerEventDefinition" for e in wf.waiting_events()):
                        outcome = "waiting: timer " + ",".join(str(e.value) for e in wf.waiting_events())[:80]
                        break
                    continue
                started = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.STARTED)]
                outcome = f"waiting: events={[(e.event_type, e.name) for e in events]} started={started}"
                break
            else:
                outcome = "too many steps"
            results[pid] = outcome
        except Exception as exc:  # noqa: BLE001
            results[pid] = f"error: {type(exc).__name__}: {str(exc)[:200]}"
    return results


# ----- Guichet ---------------------------------------------------------------------------------
class Guichet:
    def __init__(self) -> None:
        from flask_migrate import upgrade

        from app import create_app
        self.tmp = tempfile.mkdtemp(prefix="guichet_sweep_")
        self.app = create_app(DATA_DIR=self.tmp, DATABASE_URL=f"sqlite:///{self.tmp}/g.db", SECRET_KEY="x" * 32,
                              BROKER_URL="memory://", CELERY_EAGER=False, WTF_CSRF_ENABLED=False)
        with self.app.app_context():
            upgrade(directory=str(Path(self.app.root_path) / "migrations"), revision="heads")
            from app.extensions import db
            from app.models import User
            from app.services.users import hash_password
            db.session.add(User(username="root", role="admin", password_hash=hash_password("pw-secret-123")))
            db.session.commit()
        from app.services import dispatch
        from app.services.dispatch import set_job_sender
        set_job_sender(self.app, lambda ids: dispatch.mark_sent(ids))
        self.client = self.app.test_client()
        r = self.client.post("/api/v1/auth/token", json={"username": "root", "password": "pw-secret-123"})
        self.headers = {"Authorization": f"Bearer {r.get_json()['access_token']}"}
        self.log: list[str] = []
        self.fivexx: list[str] = []

    def call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            resp = getattr(self.client, method)(f"/api/v1{path}", headers=self.headers, **kw)
        except Exception as exc:  # noqa: BLE001
            self.fivexx.append(f"{method.upper()} {path}: raised {type(exc).__name__}: {exc}")
            traceback.print_exc()
            return None
        if resp.status_code >= 500:
            self.fivexx.append(f"{method.upper()} {path}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")
        return resp

    def deploy(self, files: list[tuple[str, bytes]]) -> Any:
        data = {"files": [(io.BytesIO(c), n) for n, c in files]}
        return self.call("post", "/deployments", data=data, content_type="multipart/form-data")

    def register_topics(self, topics: list[str]) -> None:
        from app.services.operations import Operation, register_operation
        for t in topics:
            register_operation(Operation(t, lambda ctx: {}, 0, 0.0, "sweep echo"))

    def run_jobs(self) -> int:
        from sqlalchemy import select

        from app.extensions import db
        from app.models import Job
        from app.services import jobs
        n = 0
        with self.app.app_context():
            ids = list(db.session.scalars(select(Job.id).where(Job.state.in_(("pending", "sent")))))
            db.session.remove()
            for jid in ids:
                try:
                    jobs.run_job(jid, worker="sweep")
                    n += 1
                except Exception as exc:  # noqa: BLE001
                    self.fivexx.append(f"run_job {jid}: raised {type(exc).__name__}: {exc}")
                    traceback.print_exc()
                db.session.remove()
        return n


def fake_value(schema: dict, root: dict, depth: int = 0) -> Any:
    if depth > 6 or not isinstance(schema, dict):
        return "x"
    if "$ref" in schema and isinstance(schema["$ref"], str) and schema["$ref"].startswith("#/"):
        node: Any = root
        for part in schema["$ref"][2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return fake_value(node, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list) and schema[key] and isinstance(schema[key][0], dict):
            return fake_value(schema[key][0], root, depth + 1)
    t = schema.get("type")
    if isinstance(t, list):
        t = t[0]
    if "default" in schema:
        return schema["default"]
    if t == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if t == "number":
        return float(schema.get("minimum", 1))
    if t == "boolean":
        return True
    if t == "array":
        return []
    if t == "object" or "properties" in schema:
        out = {}
        for name in schema.get("required", []) or []:
            out[name] = fake_value((schema.get("properties") or {}).get(name, {}), root, depth + 1)
        return out
    if schema.get("format") == "date":
        return "2024-01-15"
    return "x" * max(1, int(schema.get("minLength", 1)))


def run_guichet(g: Guichet, name: str, files: list[Path], vars_: dict, taskdata: dict) -> dict[str, Any]:
    payload = [(f.name, f.read_bytes()) for f in files]
    result: dict[str, Any] = {"deploy": None, "runs": {}}
    resp = g.deploy(payload)
    if resp is None:
        result["deploy"] = "RAISED"
        return result
    result["deploy"] = resp.status_code
    body = resp.get_json(silent=True) or {}
    if resp.status_code == 422:
        errs = body.get("errors", [])
        result["deploy_errors"] = [f"{e.get('elementId')}: {e.get('message')}"[:160] for e in errs][:6]
        topics = sorted({m.group(1) for e in errs for m in [re.search(r"topic '([^']+)'", e.get("message") or "")] if m})
        if topics and all("no worker operation" in (e.get("message") or "") for e in errs):
            g.register_topics(topics)
            result["topic_policy_422"] = topics
            resp = g.deploy(payload)
            result["deploy"] = resp.status_code if resp is not None else "RAISED"
            body = resp.get_json(silent=True) or {} if resp is not None else {}
            if resp is not None and resp.status_code == 422:
                result["deploy_errors"] = [f"{e.get('elementId')}: {e.get('message')}"[:160]
                                           for e in body.get("errors", [])][:6]
    if result["deploy"] == 422 and any("no executable process" in e for e in result.get("deploy_errors", [])):
        # Robustness probe: the same diagram made executable must still never 500.
        flipped = [(n, c.replace(b'isExecutable="false"', b'isExecutable="true"')) for n, c in payload]
        v = g.deploy(flipped)
        result["variant_executable"] = getattr(v, "status_code", "RAISED")
        if v is not None and v.status_code == 422:
            result["variant_errors"] = [f"{e.get('elementId')}: {e.get('message')}"[:160]
                                        for e in (v.get_json() or {}).get("errors", [])][:4]
        elif v is not None and v.status_code == 201:
            result["variant_runs"] = {d["key"]: drive(g, d["key"], vars_, taskdata)
                                      for d in (v.get_json() or {}).get("definitions", [])}
    if result["deploy"] == 422 and any("is neither in this deployment" in e for e in result.get("deploy_errors", [])):
        # The public copy lacks the process model's form files: deploy again with permissive stubs.
        names = sorted({m.group(1) for e in result["deploy_errors"] for m in [re.search(r"form file '([^']+)'", e)] if m})
        stubs = [(n, b'{"type": "object"}') for n in names]
        v = g.deploy(payload + stubs)
        result["variant_stub_forms"] = getattr(v, "status_code", "RAISED")
        if v is not None and v.status_code == 201:
            body = v.get_json()
            result["deploy"] = "201*"
    if result["deploy"] not in (201, "201*"):
        return result
    called = called_elements(files)
    keys = [d["key"] for d in body.get("definitions", []) if d["key"] not in called]
    for key in keys:
        result["runs"][key] = drive(g, key, vars_, taskdata)
    return result


def drive(g: Guichet, key: str, vars_: dict, taskdata: dict) -> str:
    r = g.call("post", "/process-instances", json={"processDefinitionKey": key, "variables": vars_})
    if r is None or r.status_code != 201:
        return f"start -> {getattr(r, 'status_code', 'RAISED')} {(r.get_data(as_text=True)[:200] if r is not None else '')}"
    iid = r.get_json()["id"]
    fired: set[str] = set()
    steps = []
    for _ in range(60):
        for _round in range(10):
            if not g.run_jobs():
                break
        r = g.call("get", f"/process-instances/{iid}")
        if r is None or r.status_code != 200:
            return f"get -> {getattr(r, 'status_code', 'RAISED')}"
        inst = r.get_json()
        status = inst["status"]
        if status != "running":
            inc = [i.get("message", "")[:200] for i in inst.get("incidents", [])]
            return f"{status}" + (f" incidents={inc}" if inc else "") + (f" steps={len(steps)}" if steps else "")
        if inst["openTasks"]:
            t = inst["openTasks"][0]
            tr = g.call("get", f"/tasks/{t['id']}")
            schema = ((tr.get_json() or {}).get("form") or {}).get("schema") if tr is not None and tr.status_code == 200 else None
            data = dict(fake_value(schema, schema) if schema else {})
            data.update(taskdata.get(t["elementId"], {}))
            a = g.call("post", f"/tasks/{t['id']}/assignment")
            c = g.call("post", f"/tasks/{t['id']}/completion", json={"variables": data})
            steps.append(t["elementId"])
            if c is None or c.status_code != 200:
                return f"complete {t['elementId']} -> {getattr(c, 'status_code', 'RAISED')} {(c.get_data(as_text=True)[:300] if c is not None else '')} (claim {getattr(a, 'status_code', None)})"
            continue
        acted = False
        for w in inst.get("waitingFor", []):
            tag = f"{w['type']}:{w.get('name')}:{w['elementId']}"
            if w["type"] == "timer":
                fr = g.call("post", f"/process-instances/{iid}/timer-firing", json={"elementId": w["elementId"]})
                steps.append(tag)
                acted = fr is not None and fr.status_code < 300
                if not acted:
                    return f"timer-firing {w['elementId']} -> {getattr(fr, 'status_code', 'RAISED')} {fr.get_data(as_text=True)[:200] if fr is not None else ''}"
                break
            if tag in fired:
                continue
            fired.add(tag)
            if w["type"] == "message":
                mr = g.call("post", "/messages", json={"name": w["name"], "variables": {}})
                acted = True
                steps.append(tag)
                if mr is not None and mr.status_code >= 400:
                    steps.append(f"message->{mr.status_code}")
                break
            if w["type"] == "signal":
                g.call("post", "/signals", json={"name": w["name"], "variables": {}})
                acted = True
                steps.append(tag)
                break
        if acted:
            continue
        return f"waiting active={inst.get('activeElementIds')} waitingFor={[w['type'] + ':' + str(w.get('name')) for w in inst.get('waitingFor', [])]}"
    return "too many steps"


def main() -> None:
    root = Path(sys.argv[1])
    only = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--only" else None
    g = Guichet()
    summary = []
    for name, files, vars_, taskdata in units(root):
        if only and only not in name:
            continue
        plain = run_plain(files, vars_, taskdata) if any(f.suffix == ".bpmn" for f in files) else {"*": "dmn only"}
        before = len(g.fivexx)
        gres = run_guichet(g, name, files, vars_, taskdata)
        new500 = g.fivexx[before:]
        summary.append((name, plain, gres, new500))
        print(f"=== {name}")
        print(f"  plain:   {plain}")
        print(f"  guichet: deploy={gres['deploy']} {('errors=' + str(gres.get('deploy_errors'))) if gres.get('deploy_errors') else ''}"
              f"{(' topic-policy=' + str(gres['topic_policy_422'])) if gres.get('topic_policy_422') else ''}")
        for k, v in gres["runs"].items():
            print(f"    run {k}: {v}")
        for extra in ("variant_executable", "variant_errors", "variant_runs", "variant_stub_forms"):
            if extra in gres:
                print(f"    {extra}: {gres[extra]}")
        for e in new500:
            print(f"  !!! 5xx: {e}")
    print("\n===== SUMMARY")
    print(f"units: {len(summary)}; 5xx: {sum(len(s[3]) for s in summary)}")
    for name, plain, gres, new500 in summary:
        pc = [k for k, v in plain.items() if v == "completed"]
        gc = [k for k, v in gres["runs"].items() if v.startswith("completed")]
        miss = [k for k in pc if k not in gc]
        flag = "500!" if new500 else ("MISS " + ",".join(miss) if miss else "")
        print(f"{name:55s} deploy={gres['deploy']!s:4} plain_completed={len(pc)} guichet_completed={len(gc)} {flag}")


if __name__ == "__main__":
    main()
