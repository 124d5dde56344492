"""World Models end to end, as the README tells a user to run it, on the session's run
(`train --algo worldmodels --preset debug`, interrupted and resumed: conftest's
`interrupted_runs`, which tests/test_experiment.py checks as for every algorithm): the stages in
order, CMA-ES candidates scored by separate Ray actors, the ES state in the checkpoint, the
rollouts on disk, and `dream`.
"""

import json
import math
import pickle

import pytest

from custom_models.worldmodels.data import count_episodes

pytestmark = pytest.mark.slow


@pytest.fixture
def trained(interrupted_runs):
    run = interrupted_runs("worldmodels")
    assert run["resumed"].returncode == 0, run["resumed"].stdout + run["resumed"].stderr
    rows = [json.loads(line) for line in (run["trial"] / "result.json").read_text().splitlines()]
    return {**run, "out": run["first_out"] + run["resumed"].stdout, "rows": rows}


def _last_by_iteration(rows):
    return {row["training_iteration"]: row for row in rows}  # a redone iteration: its last


def test_stages_run_in_order_one_unit_per_iteration(trained):
    rows = _last_by_iteration(trained["rows"])
    assert sorted(rows) == list(range(1, 7))
    numbers = {i: row["world_models"] for i, row in rows.items()}
    assert numbers[1]["episodes_collected"] == 2  # debug: 2 runners x 1 random episode
    assert numbers[2]["vae_epochs"] == 1 and numbers[3]["mdn_epochs"] == 1
    # Generations 1..3, counted on across the interrupt and resume.
    assert [numbers[i]["generation"] for i in (4, 5, 6)] == [1, 2, 3]
    learner = rows[2]["learners"]["default_policy"]
    assert 0 < learner["vae_recon_mse"] < 1 and math.isfinite(learner["vae_kl"])
    assert math.isfinite(rows[3]["learners"]["default_policy"]["mdn_z_nll"])
    for line in ("collected 2 random episodes", "| V epoch 1: recon mse", "| M epoch 1: z nll",
                 "| CMA-ES gen 3: fitness best"):
        assert line in trained["out"], trained["out"]


def test_candidates_are_scored_by_separate_ray_actors(trained):
    for row in _last_by_iteration(trained["rows"]).values():
        numbers = row["world_models"]
        if numbers.get("generation", math.nan) >= 1:
            assert numbers["es_candidate_actors"] == 2  # the debug preset's two env runners
            assert numbers["es_fitness_worst"] <= numbers["es_fitness_mean"] \
                <= numbers["es_fitness_best"] <= numbers["es_best_so_far"]
            assert numbers["es_x_pos_furthest"] > 0


def test_the_kept_controller_is_the_best_evaluated_es_mean(trained):
    """[1]'s code: the ES mean, evaluated over several episodes (debug: 3, at generations 1 and
    2), is kept when it beats the kept one; not the luckiest single candidate. The kept
    controller's numbers are reported as such."""
    import numpy as np

    numbers = {i: row["world_models"] for i, row in _last_by_iteration(trained["rows"]).items()}
    evaluated = {n["generation"]: n["eval_return_mean"] for n in numbers.values()
                 if n.get("generation", 0) >= 1 and not math.isnan(n.get("eval_return_mean",
                                                                           math.nan))}
    assert sorted(evaluated) == [1, 2]  # every 2 generations (and the first), to generation 3
    best = max(evaluated, key=lambda generation: (evaluated[generation], -generation))
    last = numbers[6]
    assert last["kept_generation"] == best and last["kept_return_mean"] == evaluated[best]
    assert {n["eval_episodes"] for n in numbers.values()
            if not math.isnan(n.get("eval_episodes", math.nan))} == {3}

    last_checkpoint = sorted(trained["trial"].glob("checkpoint_*"))[-1]
    with (last_checkpoint / "algorithm_state.pkl").open("rb") as f:  # our own checkpoint
        stage = pickle.load(f)["world_models"]
    assert stage["kept_generation"] == best
    # the kept weights are what the learners hold, and what evaluate plays
    from ray.rllib.core.rl_module.rl_module import RLModule

    module = RLModule.from_checkpoint(
        str(last_checkpoint / "learner_group" / "learner" / "rl_module" / "default_policy"))
    np.testing.assert_allclose(module.controller.get_flat(), stage["best_params"], rtol=1e-6)


def test_checkpoint_holds_the_cma_es_state(trained):
    import cma

    last = sorted(trained["trial"].glob("checkpoint_*"))[-1]
    with (last / "algorithm_state.pkl").open("rb") as f:  # our own checkpoint: safe to unpickle
        state = pickle.load(f)
    stage = state["world_models"]
    es = pickle.loads(stage["es"])
    assert isinstance(es, cma.CMAEvolutionStrategy) and es.popsize == 4
    assert es.countiter == stage["generation"] == 3
    assert len(stage["best_params"]) == (32 + 256 + 1) * 7  # C's weights and biases
    assert count_episodes(trained["trial"] / "rollouts")[0] == 2


def test_dream_shows_v_and_m_beside_the_game(trained, tmp_path, cli):
    out = tmp_path / "dream.gif"
    result = cli("dream", str(trained["trial"]), "--out", str(out), "--observe", "3",
                 "--horizon", "10")
    assert result.returncode == 0, result.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["frames"] == 13 and [s["phase"] for s in report["steps"]].count("imagined") == 10
    assert 0 < report["summary"]["observed_mse_mean"] < 1
    assert out.read_bytes()[:3] == b"GIF"


def test_the_last_100_window_holds_the_candidates_episodes_only(trained):
    """The random episodes of the collect stage count as sampled steps, but their statistics
    are apart (`world_models/collect/`): the window of `env_runners/` is the candidates'."""
    rows = _last_by_iteration(trained["rows"])
    collect, random_play = rows[1]["env_runners"], rows[1]["world_models"]["collect"]
    assert "window_episodes" not in collect and "flag_rate" not in collect
    assert random_play["window_episodes"] == 2 and random_play["x_pos_max_mean"] > 0
    assert collect["num_env_steps_sampled_lifetime"] == 2 * random_play["episode_len_mean"]
    for iteration in (4, 5, 6):  # generations 1-3 of 4 candidates, one episode each
        generation = rows[iteration]["world_models"]["generation"]
        assert rows[iteration]["env_runners"]["window_episodes"] == 4 * generation
