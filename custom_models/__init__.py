"""Our RLModules, Learners, replay buffers and Algorithm subclasses, one folder per algorithm
(`ppo/`, `dqn/`, `dreamer/`) as `ray/rllib/algorithms/<algo>/`; the CNN torsos in `encoders.py`."""

from mario_rllib import _compat

_compat.install()  # old module paths that saved experiments and checkpoints still name
