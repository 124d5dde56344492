"""nes-py 8.2.1 against 9.x, in one process: each version's emulator under our game logic
(`SuperMarioBros`: a frame, its reward and end, the skips, the screen as RGB), the same sequence
of random actions (frames emulated in the skips are timed, not counted, alike for both), taking
turns in short slices so that the machine's drift hits both alike. Prints frames/s
of each and the ratio 9.x / 8.2.1 (docs/performance.md).

    .venv-env-3.13-nes-py9.0.1/bin/python scripts/bench_nes_py.py \
        .venv-env-3.13/lib/python3.13/site-packages/nes_py [SECONDS]

The installed nes-py must be 9.x; the argument is the package directory of an 8.2.1 install
(another venv of the same Python). Both play the same actions and must agree frame by frame.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

from mario_rllib.env import actions, nes

SLICE_SECONDS, FRAME_SKIP = 0.25, 4


def main(lib_dir: str, seconds: float = 20.0) -> None:
    if nes.EMULATOR is not nes._NativeEmulator:
        raise SystemExit("the installed nes-py is not 9.x")
    (library,) = Path(lib_dir).glob("lib_nes_env*")
    emulators = {"9.x": nes._NativeEmulator, "8.2.1": nes._LibEmulator.load(library)}
    games = {}
    for name, emulator in emulators.items():
        nes.EMULATOR = emulator
        games[name] = nes.SuperMarioBros("1-1", "nes-py")
        games[name].reset()
    codes = actions.controller_bytes("simple")
    frames, spent = dict.fromkeys(games, 0), dict.fromkeys(games, 0.0)
    rngs = {name: np.random.default_rng(0) for name in games}  # the same action sequence
    for _ in range(round(seconds / SLICE_SECONDS)):
        for name, game in games.items():
            start = time.perf_counter()
            while time.perf_counter() - start < SLICE_SECONDS:
                code = codes[rngs[name].integers(len(codes))]
                for _ in range(FRAME_SKIP):
                    _, done = game.frame(code)
                    game.after_frame(done)
                    frames[name] += 1
                    if done:
                        game.reset()
                        break
                cv2.cvtColor(game.bgrx, cv2.COLOR_BGRA2RGB)
            spent[name] += time.perf_counter() - start
    # The same actions from the same state give the same game: replay 2,000 frames on both.
    for game in games.values():
        game.reset()
    for code in np.random.default_rng(1).choice(codes, 2_000):
        steps = [game.frame(int(code)) for game in games.values()]
        assert steps[0] == steps[1], steps
        assert np.array_equal(*(g.bgrx[..., :3] for g in games.values()))
        assert games["9.x"].info() == games["8.2.1"].info()
        for game in games.values():
            game.after_frame(steps[0][1])
            if steps[0][1]:
                game.reset()
    rates = {name: frames[name] / spent[name] for name in games}
    for name, rate in rates.items():
        print(f"nes-py {name:<6} {rate:8.0f} frames/s  ({frames[name]:,} frames in {spent[name]:.1f} s)")
    print(f"ratio 9.x / 8.2.1: {rates['9.x'] / rates['8.2.1']:.2f}  (2,000 replayed frames identical)")


if __name__ == "__main__":
    main(sys.argv[1], *map(float, sys.argv[2:]))
