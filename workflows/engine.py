"""The facade the app uses: deploy (parse + validate), load specs, start, restore, advance, snapshot."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.util.task import TaskState

from .deployment import instantiate, parse_deployment
from .errors import WorkflowError
from .execution import Execution
from .parser import GuichetParser
from .scripts import RestrictedScriptEngine
from .serializer import StateSerializer, make_spec_serializer
from .views import LoadedSpec, ProcessModel


class WorkflowEngine:
    """Built once per process: parser class, restricted script engine and serializers are shared."""

    parser_class = GuichetParser

    def __init__(self, max_tasks: int = 2000):
        self.max_tasks = max_tasks
        self.script_engine = RestrictedScriptEngine()
        self.spec_serializer = make_spec_serializer()
        self.state_serializer = StateSerializer(self.spec_serializer.registry)

    def parse_deployment(self, files: dict[str, bytes], known_processes: set[str] | None = None
                         ) -> list[ProcessModel]:
        """Validate every .bpmn/.dmn file and return one ProcessModel per executable process."""
        return parse_deployment(files, set(known_processes or ()), self.state_serializer)

    def load_spec(self, model_spec_json: str, called: dict[str, str] | None = None) -> LoadedSpec:
        """Rebuild a spec from ProcessModel.spec plus the specs of every process it calls (transitively)."""
        spec, subprocess_specs = self.state_serializer.spec_from_json(model_spec_json)
        owners = {name: spec.name for name in [spec.name, *subprocess_specs]}
        for process_id, text in (called or {}).items():
            called_spec, embedded = self.state_serializer.spec_from_json(text)
            subprocess_specs.setdefault(process_id, called_spec)
            owners.setdefault(process_id, process_id)
            for name, sub in embedded.items():
                subprocess_specs.setdefault(name, sub)
                owners.setdefault(name, process_id)
        missing = sorted({ts.spec for sp in [spec, *subprocess_specs.values()] for ts in sp.task_specs.values()
                          if isinstance(ts, CallActivity) and ts.spec not in subprocess_specs})
        if missing:
            raise WorkflowError(f"called process spec(s) not provided: {', '.join(missing)}")
        return LoadedSpec(key=spec.name, spec=spec, subprocess_specs=subprocess_specs, owners=owners)

    def start(self, spec: LoadedSpec, variables: dict[str, Any] | None = None) -> Execution:
        """Create an instance and seed variables on its start task; nothing runs until run()."""
        workflow = instantiate(spec.spec, spec.subprocess_specs, self.script_engine)
        if variables:
            # Workflow data is invisible to scripts: seed the READY start task instead.
            start = workflow.get_next_task(state=TaskState.READY)
            (start or workflow.task_tree).set_data(**variables)
        return Execution(self, spec, workflow)

    def restore(self, spec: LoadedSpec, state_json: str) -> Execution:
        """Rebuild an instance from Snapshot.state and its cached spec; the script engine is reattached."""
        workflow = self.state_serializer.from_json(state_json, spec.spec, spec.subprocess_specs,
                                                   self.script_engine)
        return Execution(self, spec, workflow)
