"""mario-rllib: the application (env, experiments, evaluation, results, benchmarks, CLI)."""

from mario_rllib import _compat
from mario_rllib.quiet import quiet_known_messages

_compat.install()  # old module paths that saved experiments and checkpoints still name
quiet_known_messages()  # in every process that imports us: the driver and each Ray worker
