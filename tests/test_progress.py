"""The progress line, progress.csv and the stopper, on results as Tune hands them over."""

import csv
from types import SimpleNamespace

from mario_rllib.progress import MarioStopper, ProgressCSV, ProgressLine, format_progress

NAN = float("nan")


def algo(name):
    """The part of a result's config that names its algorithm (as `apply_common` puts it)."""
    return {"_model_config": {"mario": {"algo": name}}}


def test_progress_line_shows_the_window_metrics_and_the_replay_ratio(capsys):
    line, trial = ProgressLine(), SimpleNamespace(trial_id="t")
    base = {"time_this_iter_s": 5.0, "config": {"num_env_runners": 0, "training_ratio": 64,
                                                **algo("dreamerv3")},
            "actual_training_ratio": 63.6}
    line.on_trial_result(0, [], trial, {**base, "training_iteration": 1, "env_runners": {
        "num_env_steps_sampled": 4, "episode_return_mean": 1.0, "return_mean": 485.0,
        "x_pos_max_mean": 564.0, "x_pos_max_max": 822.0, "flag_rate": 0.0,
        "window_episodes": 3}})
    assert "return  485.00 | x_pos   564 (max 822) | flag 0.00 (3 ep)" in capsys.readouterr().out
    # Before the first episode ends there is nothing to show.
    line.on_trial_result(0, [], trial, {**base, "training_iteration": 1, "env_runners": {
        "num_env_steps_sampled": 4}})
    out = capsys.readouterr().out
    assert "return - | x_pos - (max -) | flag - (- ep)" in out
    assert out.rstrip().endswith(" | replayed/env step 64 (target 64)")


def test_progress_line_shows_dqns_burn_in_then_its_intensity():
    def tail(result, name="dqn"):
        line = format_progress("t", {"training_iteration": 3, "time_this_iter_s": 2.0,
                                     "config": {"num_steps_sampled_before_learning_starts": 10_000,
                                                **algo(name)},
                                     "env_runners": {"num_env_steps_sampled": 1_000}, **result})
        return line.split("0:00:00")[1]

    # A resumed trial's first iterations: no intensity in this process yet, the buffer filling.
    assert tail({"training_intensity": NAN, "burn_in_buffered": 3_212.0}) == (
        " | burn-in 3,212/10,000 steps, no updates")
    assert tail({"training_intensity": 10.43, "burn_in_buffered": NAN}) == (
        " | replayed/env step 10.4")
    assert tail({"training_intensity": 10.43, "learners": {"default_policy": {
        "wm_phase": 0.6485}}}, "latent_dqn") == " | replayed/env step 10.4, world model 65%"
    assert tail({"training_intensity": 10.43, "learners": {"default_policy": {
        "wm_phase": NAN}}}, "latent_dqn") == " | replayed/env step 10.4"
    assert tail({"training_intensity": NAN, "burn_in_buffered": 64.0}, "latent_dqn") == (
        " | burn-in 64/10,000 steps, no updates")
    assert tail({}, "ppo") == ""
    # The fields are the algorithm's own: DQN's intensity is not read for PPO, nor without one.
    assert tail({"training_intensity": 10.43}, "ppo") == ""
    assert tail({"training_intensity": 10.43}, None) == ""


def test_progress_line_says_what_each_world_models_stage_did():
    def line(numbers, learner=None, sampled=NAN):
        return format_progress("t", {
            "training_iteration": 2, "time_this_iter_s": 2.0, "world_models": numbers,
            "config": algo("worldmodels"),
            "env_runners": {"num_env_steps_sampled": sampled},
            "learners": {"default_policy": learner or {}}})

    # Metrics of stages not run in an iteration are NaN in its result (RLlib's window of 1).
    # The random episodes stay out of the candidates' window (`env_runners/`): theirs is apart.
    assert line({"episodes_collected": 8.0, "stage": 0.0,
                 "collect": {"x_pos_max_mean": 452.5, "window_episodes": 8}},
                sampled=400).endswith(
        "200.0 steps/s | return - | x_pos - (max -) | flag - (- ep) | 0:00:00 | collected 8 "
        "random episodes (x_pos 452)")
    assert line({"episodes_collected": NAN, "vae_epochs": 1.0},
                {"vae_recon_mse": 0.01884, "vae_recon_ssim": 0.6441, "vae_kl": 15.32}).endswith(
        "-- steps/s | return - | x_pos - (max -) | flag - (- ep) | 0:00:00 | V epoch 1: recon "
        "mse 0.0188, ssim 0.644, kl 15.3".replace("--", "     -"))
    assert line({"vae_epochs": NAN, "mdn_epochs": 3.0},
                {"mdn_z_nll": -0.5234, "mdn_reward_mse": 0.241, "mdn_done_bce": 0.0312}
                ).endswith("| M epoch 3: z nll -0.523, reward mse 0.2410, end bce 0.0312")
    assert line({"mdn_epochs": NAN, "generation": 12.0, "es_fitness_best": 61.21,
                 "es_fitness_mean": 30.48, "es_fitness_worst": -3.1, "es_x_pos_furthest": 1020.0,
                 "es_candidate_actors": 2.0}, sampled=800).endswith(
        "| CMA-ES gen 12: fitness best 61.2 mean 30.5 worst -3.1, furthest x_pos 1,020, "
        "2 actor(s)")
    assert line({"generation": 20.0, "es_fitness_best": 61.21, "es_fitness_mean": 30.48,
                 "es_fitness_worst": -3.1, "es_x_pos_furthest": 1020.0, "es_candidate_actors": 2.0,
                 "eval_return_mean": 40.04, "eval_episodes": 16.0, "kept_generation": 20.0,
                 "kept_return_mean": 40.04, "kept_x_pos_mean": 812.5}, sampled=800).endswith(
        "2 actor(s); mean evaluated: return 40.0 over 16 episodes; kept: gen 20, return 40.0, "
        "x_pos 812")


def test_the_flag_rate_stops_a_trial_only_over_a_full_window():
    stopper = MarioStopper({"env_runners/flag_rate": 0.9, "training_iteration": 50})

    def result(flag_rate, episodes, iteration=1):
        return {"training_iteration": iteration,
                "env_runners": {"flag_rate": flag_rate, "window_episodes": episodes}}

    assert not stopper("t", result(1.0, 1))  # one lucky episode
    assert not stopper("t", result(0.95, 99))
    assert stopper("t", result(0.95, 100))
    assert not stopper("t", result(0.5, 100))
    assert stopper("t", result(0.0, 0, iteration=50))
    assert not stopper("t", {"training_iteration": 2})  # no episode yet: no flag rate


class _Trial:
    """What Tune's CSV logger reads of a trial: its directory, and no checkpoint in remote
    storage to fetch the file from."""

    checkpoint = None

    def __init__(self, path):
        self.local_path = str(path)

    def init_local_path(self):
        pass


def test_progress_csv_keeps_every_metric_under_its_name_across_a_resume(tmp_path):
    trial = _Trial(tmp_path)
    first = ProgressCSV()
    first.log_trial_result(1, trial, {"training_iteration": 1, "config": {"lr": 1},
                                      "learners": {"loss": 0.5}})
    # Metrics that appear later (the first finished episode) get their own column.
    first.log_trial_result(2, trial, {"training_iteration": 2, "learners": {"loss": 0.4},
                                      "env_runners": {"flag_rate": 0.0}})
    first.log_trial_end(trial)
    # A resume: a new logger, results with their keys in another order and one more key.
    resumed = ProgressCSV()
    resumed.log_trial_result(3, trial, {"env_runners": {"x_pos_max_mean": 700.0, "flag_rate": 0.25},
                                        "training_iteration": 3, "learners": {"loss": 0.3}})
    resumed.log_trial_result(4, trial, {"training_iteration": 4, "learners": {"loss": 0.2},
                                        "env_runners": {"flag_rate": 0.5, "x_pos_max_mean": 800.0}})
    resumed.log_trial_end(trial)
    with (tmp_path / "progress.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"training_iteration": "1", "learners/loss": "0.5", "env_runners/flag_rate": "",
         "env_runners/x_pos_max_mean": ""},
        {"training_iteration": "2", "learners/loss": "0.4", "env_runners/flag_rate": "0.0",
         "env_runners/x_pos_max_mean": ""},
        {"training_iteration": "3", "learners/loss": "0.3", "env_runners/flag_rate": "0.25",
         "env_runners/x_pos_max_mean": "700.0"},
        {"training_iteration": "4", "learners/loss": "0.2", "env_runners/flag_rate": "0.5",
         "env_runners/x_pos_max_mean": "800.0"},
    ]
    assert not list(tmp_path.glob("*.tmp"))
