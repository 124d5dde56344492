"""`mario-rllib plot EXPERIMENT_DIR`: learning curves (return, furthest x_pos, flag rate) per trial,
against env steps, from the `result.json` files Tune writes (one JSON result per line; unlike
`progress.csv`, their rows stay readable when metrics appear later or a trial is resumed)."""

from __future__ import annotations

import io
import json

from mario_rllib.storage import Location, locate

STEPS = "num_env_steps_sampled_lifetime"
PANELS = (  # keys under each result's "env_runners"
    ("return_mean", "episode return (mean)"),
    ("x_pos_max_mean", "furthest x_pos (mean)"),
    ("flag_rate", "flag rate"),
)


def plot_experiment(experiment_dir: str, out: str | None = None) -> Location:
    """Write a PNG with one panel per metric and one line per trial; return where. The
    experiment may be in a bucket (`s3://...`): the PNG then goes next to it, unless `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    root = locate(experiment_dir, "experiment")
    if not root.is_dir():
        raise ValueError(f"cannot plot {experiment_dir!r}: no such directory (expected an "
                         f"experiment directory under ray_results/)")
    trials = {trial.name: rows for trial in root.children(dirs=True)
              if (trial / "result.json").is_file() and (rows := read_results(trial / "result.json"))}
    if not trials:
        raise ValueError(f"cannot plot {experiment_dir!r}: no trial with results in it (has a "
                         f"training iteration finished yet?)")
    exploits = exploit_iterations(root)
    figure, axes = plt.subplots(len(PANELS), 1, figsize=(7, 8), sharex=True)
    for trial, rows in trials.items():
        for axis, (key, _) in zip(axes, PANELS, strict=True):
            points = [(row[STEPS], row[key]) for row in rows if key in row and STEPS in row]
            if points:
                (line,) = axis.plot(*zip(*points, strict=True), label=trial)
                # A PBT exploit: the trial goes on from a clone of another's checkpoint.
                marked = [(row[STEPS], row[key]) for row in rows
                          if row.get("training_iteration") in exploits.get(trial, ())
                          and key in row and STEPS in row]
                if marked:
                    axis.plot(*zip(*marked, strict=True), "v", color=line.get_color(),
                              markersize=8, label=f"{trial}: PBT exploit" if key == PANELS[0][0]
                              else None)
    for axis, (_, title) in zip(axes, PANELS, strict=True):
        axis.set_ylabel(title)
        axis.grid(alpha=0.3)
    axes[-1].set_xlabel("env steps (agent steps)")
    axes[0].set_title(root.name)
    if len(trials) > 1:
        axes[0].legend(fontsize="small")
    figure.tight_layout()
    path = locate(out, "--out") if out else root / "learning_curves.png"
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100)
    plt.close(figure)
    path.write_bytes(png.getvalue())
    return path


def exploit_iterations(root: Location) -> dict[str, set[int]]:
    """{trial: the iterations it began as a PBT clone} (`mario_rllib.population.exploits`)."""
    from mario_rllib.population import exploits

    found: dict[str, set[int]] = {}
    for exploit in exploits(root):
        found.setdefault(exploit["trial"], set()).add(exploit["iteration"])
    return found


def read_results(path: Location) -> list[dict]:
    """The `env_runners` part of each result in a trial's result.json, and its iteration, in
    order."""
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            result = json.loads(line)
            rows.append({**result.get("env_runners", {}),
                         "training_iteration": result.get("training_iteration")})
    return rows
