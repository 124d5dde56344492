"""`evaluate` rebuilds what the checkpoint recorded, not what today's experiment file says."""

from ray.rllib.connectors.common.frame_stacking import FrameStacking

from mario_rllib.env import make_env
from mario_rllib.evaluate import build_policy, describe_policy, evaluation_epsilon
from tune_configs import load_experiment


def frame_stacking(policy):
    (stacking,) = [piece for piece in policy.env_to_module.connectors
                   if isinstance(piece, FrameStacking)]
    return stacking.num_frames


def test_the_checkpoints_frame_stack_is_the_one_rebuilt():
    mario = load_experiment("ppo").build_config("debug").model_config["mario"]
    env = make_env(mario["env_config"])
    assert frame_stacking(build_policy(None, mario, env, explore=False)) == 4
    # A checkpoint trained with another stack than the experiment file's today.
    assert frame_stacking(build_policy(None, {**mario, "frame_stack": 2}, env, False)) == 2
    env.close()


def test_stochastic_evaluation_says_what_it_plays():
    dqn = load_experiment("dqn").build_config("debug").model_config["mario"]
    ppo = load_experiment("ppo").build_config("debug").model_config["mario"]
    assert evaluation_epsilon(dqn) == 0.05 and evaluation_epsilon(ppo) is None
    assert describe_policy(dqn, True) == "epsilon-greedy, epsilon 0.05"
    assert describe_policy(ppo, True) == "stochastic" and describe_policy(dqn, False) == "greedy"
    # A checkpoint saved before the epsilon was recorded: the experiment's default.
    assert evaluation_epsilon({k: v for k, v in dqn.items() if k != "evaluation_epsilon"}) == 0.05
