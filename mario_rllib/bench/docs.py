"""`mario-rllib bench --write-docs DOC`: the measured tables of `docs/performance.md`, written from
one bench run's report, which is kept beside the page (`DOC` with `.json`), so that each figure
lives in one place. The page's own text stays; only the part between the markers is replaced:

    <!-- bench:begin -->  ...  <!-- bench:end -->
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _n(value: Any, spec: str = ",.1f") -> str:
    return "-" if value is None else format(value, spec)


def render(report: dict[str, Any]) -> str:
    """Markdown for the parts of `report` present (a full run has all of them)."""
    meta = report.get("meta", {})
    out = [f"Measured by `mario-rllib bench` on {meta.get('date', '?')}, {meta.get('hardware', '?')}"
           f" (the report: [{meta.get('json', 'performance.json')}]"
           f"({meta.get('json', 'performance.json')})).", ""]
    env = report.get("env")
    if env:
        out += ["### Env", ""]
        rows = [["raw emulator (nes-py 8.2.1 under gym-super-mario-bros, no wrappers)", "-",
                 _n(env["raw_frames_per_s"]), "1.000"]]
        if "nes_py_env" in env:
            f = env["nes_py_env"]
            rows += [["ours, gray84, nes-py's core", _n(f["agent_steps_per_s"]),
                      _n(f["frames_per_s"]), f"{f['ratio_to_raw']:.3f}"]]
        rows += [[f"ours, {mode}, fast core", _n(f["agent_steps_per_s"]), _n(f["frames_per_s"]),
                  f"{f['ratio_to_raw']:.3f}"] for mode, f in env["modes"].items()]
        parallel = env.get("parallel")
        if parallel:
            n = parallel["processes"]
            rows += [[f"raw emulator, {n} processes", "-", _n(parallel["raw_frames_per_s"]),
                      "1.000"],
                     [f"ours, gray84, fast core, {n} processes",
                      _n(parallel["gray84_agent_steps_per_s"]),
                      _n(parallel["gray84_frames_per_s"]),
                      f"{parallel['gray84_ratio_to_raw']:.3f}"]]
        out += _table(["what", "agent steps/s", "NES frames/s", "÷ raw"], rows)
        if "emulator_speedup" in env:
            out += [f"`emulator_speedup` (our env, gray84, on the fast core ÷ nes-py 8.2.1, per "
                    f"core): **{env['emulator_speedup']:.2f}x**; over our env on nes-py's core: "
                    f"{env['emulator_speedup_same_env']:.2f}x.", ""]
        if parallel:
            out += [f"From 1 to {parallel['processes']} processes: ours scaled at "
                    f"{parallel['scaling_efficiency']:.3f}, the raw emulator itself at "
                    f"{parallel['raw_scaling_efficiency']:.3f}.", ""]
    sampling = report.get("sampling")
    if sampling:
        out += ["### RLlib sampling", "",
                "PPO module, gray84; ms per vector step of one runner, timed inside the runners; "
                "\"raw\" is the raw emulator's frames/s in the same rounds.", ""]
        rows = []
        for c in sampling["configs"]:
            stages = c["stage_ms_per_vector_step"]
            rows.append([f"{c['runners']} x {c['envs_per_runner']}", _n(c["agent_steps_per_s"]),
                         _n(c["frames_per_s_per_core"]), _n(c["raw_frames_per_s"]),
                         f"{c['ratio_to_raw']:.3f}", _n(stages["env_step"]),
                         _n(stages["module_inference"]),
                         _n(stages["env_to_module_connectors"]),
                         _n(stages["module_to_env_connectors"]), _n(stages["other"])])
        out += _table(["runners x envs", "agent steps/s", "NES frames/s per core", "raw",
                       "÷ raw", "env", "inference", "env→module", "module→env", "other"], rows)
        out += [f"`sampling_ratio_to_raw` (1 runner x {sampling['envs_per_runner']} envs): "
                f"**{sampling['sampling_ratio_to_raw']:.3f}**."]
        if sampling.get("scaling_efficiency") is not None:
            out[-1] += (f" `scaling_efficiency` 1 -> {sampling['scaling_runners']} runners: "
                        f"**{sampling['scaling_efficiency']:.3f}**")
            if sampling.get("raw_scaling_efficiency") is not None:
                out[-1] += (f" (the raw emulator's own in the same rounds: "
                            f"{sampling['raw_scaling_efficiency']:.3f})")
            out[-1] += "."
        out += [""]
    learner = report.get("learner")
    if learner:
        out += ["### Learners", "",
                "Samples consumed per second of update (DreamerV3: replayed steps).", ""]
        rows = []
        for algo, by_threads in learner.items():
            one = by_threads.get("threads_1", {}).get("samples_per_s")
            for row in by_threads.values():
                ratio = row["samples_per_s"] / one if one else None
                rows.append([algo, row["device"], row["torch_threads"],
                             _n(row["samples_per_s"]), _n(ratio, ".2f")])
        out += _table(["learner", "device", "torch threads", "samples/s", "÷ 1 thread"], rows)
    peer = report.get("peer")
    if peer:
        out += ["### Peer: the PyTorch Mario tutorial's DDQN loop", ""]
        rows = [["tutorial loop, acting only (1 core)", _n(peer["tutorial_acting_agent_steps_per_s"]),
                 "1.000"],
                ["ours: RLlib sampling, 1 runner x 1 env (1 core)",
                 _n(peer["ours_sampling_1x1_agent_steps_per_s"]), f"{peer['peer_ratio']:.3f}"],
                ["tutorial loop, acting + learn() every 3 steps",
                 _n(peer["tutorial_acting_and_learning_agent_steps_per_s"]), "1.000"]]
        if "dqn_end_to_end" in peer:
            rows.append(["ours: DQN, cpu preset, sampling + learning (every core)",
                         _n(peer["dqn_end_to_end"]["agent_steps_per_s"]),
                         f"{peer['end_to_end_ratio']:.3f}"])
        out += _table(["what", "agent steps/s", "÷ tutorial"], rows)
        if "dqn_end_to_end" in peer:
            out += [f"End to end, our DQN runs at {peer['end_to_end_ratio']:.2f}x the tutorial's "
                    f"full loop (goal: 2x); its learner's updates take "
                    f"{peer['dqn_end_to_end']['update_share']:.0%} of the wall time at a training "
                    f"intensity of {peer['dqn_end_to_end']['training_intensity']:g}."]
        if "learner_ratio" in peer:
            out += [f"Learner alone, 1 thread: ours {peer['learner_ratio']:.2f}x the tutorial's "
                    f"samples/s ({_n(peer['tutorial_learner_samples_per_s'])}; ours is dueling: "
                    f"two 512-unit streams)."]
        out += [""]
        ppo = peer.get("ppo_end_to_end")
        if ppo:
            out += ["### Peer: uvipen's PPO loop", "",
                    f"End to end (sampling and learning), an iteration of each in turn on the "
                    f"same cores, {ppo['rounds']} of each after one untimed.", ""]
            rows = [["uvipen's loop: 8 env processes, 512 steps each, 10 epochs of 16 minibatches",
                     _n(ppo["uvipen_agent_steps_per_s"]), f"{ppo['uvipen_update_share']:.0%}",
                     "1.000"],
                    ["ours: PPO, cpu preset", _n(ppo["ours_agent_steps_per_s"]),
                     f"{ppo['ours_update_share']:.0%}", f"{ppo['ppo_peer_ratio']:.3f}"]]
            out += _table(["what", "agent steps/s", "update share", "÷ uvipen"], rows)
            out += [f"Our PPO runs at {ppo['ppo_peer_ratio']:.2f}x uvipen's loop end to end "
                    f"(goal: 2x).", ""]
    for algo, label in (("dqn", "DQN"), ("dreamerv3", "DreamerV3")):
        replay = report.get(algo)
        if replay:
            out += [f"### Replay memory: {label}", "",
                    f"{replay['replay_transitions']:,} transitions; one frame is "
                    f"{replay['frame_bytes']:,} bytes; a batch is {replay['batch']}.", ""]
            rows = [["ours, as configured", _n(replay["replay_bytes_per_transition"], ",.0f"),
                     f"{replay['ratio_to_frame']:.3f}", _n(replay["sample_ms_per_batch"], ".2f")]]
            if "uncompressed_bytes_per_transition" in replay:
                rows.append(["ours, frames not compressed",
                             _n(replay["uncompressed_bytes_per_transition"], ",.0f"),
                             f"{replay['uncompressed_bytes_per_transition'] / replay['frame_bytes']:.3f}",
                             _n(replay.get("uncompressed_sample_ms_per_batch"), ".2f")])
            rows.append(["RLlib's buffer, same episodes",
                         _n(replay["rllib_buffer_bytes_per_transition"], ",.0f"),
                         f"{replay['rllib_buffer_bytes_per_transition'] / replay['frame_bytes']:.3f}",
                         _n(replay.get("rllib_buffer_sample_ms_per_batch"), ".2f")])
            out += _table(["buffer", "bytes per transition", "÷ one frame", "ms per batch"],
                          rows)
    return "\n".join(out).rstrip() + "\n"


def write(report: dict[str, Any], doc: Path) -> None:
    """Keep the report as `doc` with `.json` and replace the marked part of `doc`."""
    doc = Path(doc)
    data = doc.with_suffix(".json")
    report = {**report, "meta": {**report.get("meta", {}), "json": data.name}}
    data.write_text(json.dumps(report, indent=1) + "\n")
    text = doc.read_text() if doc.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"bad --write-docs {str(doc)!r}: it has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    doc.write_text(f"{head}{BEGIN}\n{render(report)}{END}{tail}")
