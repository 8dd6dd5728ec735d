#!/usr/bin/env python3
"""Runs a BPMN file exported by `alur render --to bpmn` on SpiffWorkflow, a real BPMN engine.

Usage: spiff_run.py FILE.bpmn PROCESS_ID PLAN.json

PLAN.json:
  {"data":    {"var": value, ...},            # set on the start task (case data)
   "answers": {"task_id": {"var": value}},    # set on every completion of that user task
   "once":    {"task_id": {"var": value}},    # overrides `answers` on the task's first completion
   "late":    ["task_id", ...],               # the task's time runs out the first time it is ready
   "parse_only": false}

Every ready task that people do (user and manual tasks) is completed in turn; decisions are
answered through task data, which is what the exported gateway conditions read
(`keputusan_<step> == 'ditolak'`). A task listed in `late` is not done at once the first time
it is ready: its boundary timers fire first (the driver marks them fired, as if the step's time
had run out), so an interrupting one takes the deadline route and a non-interrupting one runs
its path beside the task. Prints one JSON object: the trace of completed tasks as
[task id, lane] pairs, whether the workflow completed, and the end events reached.
"""
import json
import sys

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


def main():
    path, process_id, plan_path = sys.argv[1:4]
    with open(plan_path, encoding="utf-8") as f:
        plan = json.load(f)
    parser = BpmnParser()
    parser.add_bpmn_file(path)
    spec = parser.get_spec(process_id)
    if plan.get("parse_only"):
        print(json.dumps({"parsed": True, "tasks": sorted(spec.task_specs.keys())}))
        return
    wf = BpmnWorkflow(spec)
    for t in wf.get_tasks(state=TaskState.READY):
        t.data.update(plan.get("data", {}))
    wf.do_engine_steps()
    answers = plan.get("answers", {})
    once = plan.get("once", {})
    late = set(plan.get("late", []))
    done_once = set()
    trace = []
    for _ in range(1000):
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            break
        t = ready[0]
        name = t.task_spec.name
        if name in late:
            late.discard(name)
            timers = [w for w in t.parent.children if w.state == TaskState.WAITING]
            if not timers:
                raise SystemExit(f"{name} has no boundary timer to fire")
            for w in timers:
                w._set_internal_data(event_fired=True)
            wf.refresh_waiting_tasks()
            wf.do_engine_steps()
            continue
        data = dict(answers.get(name, {}))
        if name in once and name not in done_once:
            data.update(once[name])
            done_once.add(name)
        t.data.update(data)
        t.run()
        wf.do_engine_steps()
        trace.append([name, t.task_spec.lane])
    ends = sorted(
        t.task_spec.name
        for t in wf.get_tasks(state=TaskState.COMPLETED)
        if type(t.task_spec).__name__ == "EndEvent"
    )
    print(json.dumps({"completed": wf.is_completed(), "trace": trace, "ends": ends}))


if __name__ == "__main__":
    main()
