"""Keep Ray's known, non-actionable messages off a user's screen; every other warning stays.

Each entry names the logger, a piece of the message, and why it is not the user's business:
"""

from __future__ import annotations

import logging

KNOWN_MESSAGES = (
    # The new API stack is this project's choice, not a default the user must hear about.
    ("ray.rllib.algorithms.algorithm_config", "on the new API stack! This is the new default"),
    # RLlib 2.60's own RLModule.__init__ builds the deprecated RLModuleConfig, for every module
    # in every process; no code of ours passes one.
    ("ray._common.deprecation", "RLModule(config=[RLModuleConfig"),
    # Tune's system monitor asks for GPUtil on every trial, also on machines with no GPU.
    ("ray.tune.utils.util", "Install gputil"),
    # Tune's trial actor on every checkpoint; the progress line already says where each one went.
    ("ray.train._internal.storage", "Checkpoint successfully created at"),
)


class _DropMessage(logging.Filter):
    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def quiet_known_messages() -> None:
    """Install the filters in this process (safe to call any number of times). Called when
    `mario_rllib` is imported, so in the driver and in every Ray worker that unpickles one of
    our configs (they name our classes)."""
    for name, text in KNOWN_MESSAGES:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessage) and f.text == text for f in logger.filters):
            logger.addFilter(_DropMessage(text))
