import pytest

from mario_rllib.env import actions


@pytest.mark.parametrize("name, size", [("right_only", 5), ("simple", 7), ("complex", 12)])
def test_action_set_sizes(name, size):
    assert len(actions.controller_bytes(name)) == size
    assert len(actions.action_meanings(name)) == size


def test_controller_bytes_match_the_nes_button_bits():
    codes = actions.controller_bytes("simple")
    # NOOP, right, right+A, right+B, right+A+B, A, left
    assert codes == [0b0000_0000, 0b1000_0000, 0b1000_0001, 0b1000_0010, 0b1000_0011,
                     0b0000_0001, 0b0100_0000]
    assert actions.action_meanings("simple")[4] == "right A B"


def test_unknown_action_set_is_one_line():
    with pytest.raises(ValueError, match=r"^unknown action_set 'jump': expected one of "
                                         r"right_only, simple, complex$"):
        actions.controller_bytes("jump")
