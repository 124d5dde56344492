"""Named action sets: lists of NES button combinations, one discrete action each.

The lists are gym-super-mario-bros 7.4.0's own (`RIGHT_ONLY`, `SIMPLE_MOVEMENT`, `COMPLEX_MOVEMENT`,
copied: importing them imports `gym`; tests/env/test_actions.py compares), so results stay
comparable with published Mario runs. Each combination is encoded as the controller
byte the emulator reads, the way nes-py's `JoypadSpace` does, without its old-gym wrapper.
"""

from __future__ import annotations

# One bit per button on the NES controller (nes-py's `JoypadSpace._button_map`).
BUTTON_BITS: dict[str, int] = {
    "right": 0b1000_0000,
    "left": 0b0100_0000,
    "down": 0b0010_0000,
    "up": 0b0001_0000,
    "start": 0b0000_1000,
    "select": 0b0000_0100,
    "B": 0b0000_0010,
    "A": 0b0000_0001,
    "NOOP": 0b0000_0000,
}

_RIGHT_ONLY = [["NOOP"], ["right"], ["right", "A"], ["right", "B"], ["right", "A", "B"]]
_SIMPLE = [*_RIGHT_ONLY, ["A"], ["left"]]
_COMPLEX = [*_SIMPLE, ["left", "A"], ["left", "B"], ["left", "A", "B"], ["down"], ["up"]]

ACTION_SETS: dict[str, list[list[str]]] = {
    "right_only": _RIGHT_ONLY,  # 5 actions
    "simple": _SIMPLE,  # 7 actions
    "complex": _COMPLEX,  # 12 actions
}


def controller_bytes(action_set: str) -> list[int]:
    """Return the controller byte of each action of the named action set, in action order."""
    if action_set not in ACTION_SETS:
        raise ValueError(
            f"unknown action_set {action_set!r}: expected one of {', '.join(ACTION_SETS)}"
        )
    codes = []
    for buttons in ACTION_SETS[action_set]:
        code = 0
        for button in buttons:
            code |= BUTTON_BITS[button]
        codes.append(code)
    return codes


def action_meanings(action_set: str) -> list[str]:
    """Return a readable name per action, e.g. `"right A B"`."""
    controller_bytes(action_set)  # validates the name
    return [" ".join(buttons) for buttons in ACTION_SETS[action_set]]
