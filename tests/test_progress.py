"""The progress line and the stopper, on results as Tune hands them over."""

from types import SimpleNamespace

from mario_rllib.progress import MarioStopper, ProgressLine


def test_progress_line_shows_the_window_metrics_and_the_replay_ratio(capsys):
    line, trial = ProgressLine(), SimpleNamespace(trial_id="t")
    base = {"time_this_iter_s": 5.0, "config": {"num_env_runners": 0, "training_ratio": 64},
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
