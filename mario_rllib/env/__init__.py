"""The Mario env: `nes.py` (the nes-py boundary), `actions.py`, `wrappers.py`, `config.py`
(`MarioEnvConfig`, `make_env`, registration with Gymnasium and Ray)."""

from mario_rllib.env.config import (
    ENV_OPTIONS,
    GYMNASIUM_ID,
    INFO_KEYS,
    OBS_MODES,
    RAY_ENV_NAME,
    MarioEnvConfig,
    make_env,
    parse_levels,
    register_mario_envs,
)
from mario_rllib.env.nes import ALL_STAGES

__all__ = ["ALL_STAGES", "ENV_OPTIONS", "GYMNASIUM_ID", "INFO_KEYS", "OBS_MODES", "RAY_ENV_NAME",
           "MarioEnvConfig", "make_env", "parse_levels", "register_mario_envs"]
