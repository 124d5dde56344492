"""The emulator boundary: the only module that touches nes-py and gym-super-mario-bros.

`MarioNES` is Super Mario Bros as ALE exposes an Atari game: one agent step is `frame_skip` NES
frames of the same action, the observation is the pixel-wise max of the last two (sprites
flicker on alternate frames), rewards are summed, `sticky_action_prob` repeats the previous frame's
action (Machado et al. 2018's `repeat_action_probability`), and an episode starts after 0 to
`noop_max` NOOP frames.

`SuperMarioBros` is one emulator on one stage. The emulator is this project's fast core
(`_FastEmulator`, the default: nes-py 8.2.1's C++ core in `fastnes/`, changed to skip the pixel
work of the frames nobody looks at and most of the per-cycle overhead, built at install) or
nes-py's own: 8.2.1's library driven through ctypes (`_LibEmulator`), or 9.x's Cython module
loaded from its file (`_NativeEmulator`, Python 3.13). Both give the same RAM, screens and
timing (tests/env/test_fastnes.py plays every stage on both); the game logic is
gym-super-mario-bros 7.4.0's (`smb_env.py`), rewritten here in integer arithmetic: setting the
stage, skipping the start screen, decoding RAM (x and y position, time, score, coins, world,
stage, status, flag), the reward, the end of an episode and the skips of death animations and
area changes. Neither package's Python code is imported: nes-py's
parses the ROM header and gym-super-mario-bros' decodes RAM in numpy uint8 arithmetic, which
overflows under numpy 2, and both import the unmaintained `gym`. Only their files are used: the
emulator and the ROM. The recorded trajectories (tests/env/trajectories.json) are the contract: the
same rewards, ends, x positions and screens under numpy 1 and 2, on either nes-py. `reference_env` is
gym-super-mario-bros' own env (numpy 1 only), the ground truth that tests and benchmarks compare
against.

The ROM is the European (PAL) revision of the game, as in every gym-super-mario-bros result
(docs/environment.md).
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import sys
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import gymnasium as gym
import numpy as np

ALL_STAGES: tuple[str, ...] = tuple(f"{w}-{s}" for w in range(1, 9) for s in range(1, 5))
SCREEN_SHAPE = (240, 256, 3)
NOOP_ACTION = 0  # index 0 is ["NOOP"] in every action set


def _package_dir(name: str) -> Path:
    """Where an installed package's files are, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{name} is not installed: run `bash scripts/install.sh`")
    return Path(next(iter(spec.submodule_search_locations)))


class _LibEmulator:
    """nes-py 8.x's emulator: its C++ library (`lib_nes_env*.so`), driven through ctypes with the
    signatures nes-py declares."""

    lib: ctypes.CDLL | None = None

    @classmethod
    def load(cls, library: Path) -> type[_LibEmulator]:
        lib = ctypes.cdll.LoadLibrary(str(library))
        lib.Initialize.argtypes, lib.Initialize.restype = [ctypes.c_wchar_p], ctypes.c_void_p
        lib.Controller.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.Controller.restype = ctypes.c_void_p
        for name in ("Screen", "Memory"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
            getattr(lib, name).restype = ctypes.c_void_p
        for name in ("Reset", "Step", "Backup", "Restore", "Close"):
            getattr(lib, name).argtypes, getattr(lib, name).restype = [ctypes.c_void_p], None
        cls.lib = lib
        return cls

    def __init__(self, rom: Path):
        lib = self.lib
        self._env = lib.Initialize(str(rom))
        self.ram = (ctypes.c_uint8 * 0x800).from_address(lib.Memory(self._env))
        self._controller = (ctypes.c_uint8 * 1).from_address(lib.Controller(self._env, 0))
        buffer = (ctypes.c_uint8 * (240 * 256 * 4)).from_address(lib.Screen(self._env))
        self.bgrx = np.frombuffer(buffer, dtype=np.uint8).reshape(240, 256, 4)

    def step(self, code: int) -> None:
        self._controller[0] = code
        self.lib.Step(self._env)

    def reset(self) -> None:
        self.lib.Reset(self._env)

    def backup(self) -> None:
        self.lib.Backup(self._env)

    def restore(self) -> None:
        self.lib.Restore(self._env)

    def close(self) -> None:
        self.lib.Close(self._env)


class _NativeEmulator:
    """nes-py 9.x's emulator: the same C++ core behind a Cython class
    (`nes_py._native.NativeEmulator`), loaded from its file so that the `nes_py` package (which
    imports Gymnasium's env machinery) is not imported."""

    native: Any = None

    @classmethod
    def load(cls, extension: Path) -> type[_NativeEmulator]:
        spec = importlib.util.spec_from_file_location("nes_py._native", extension)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cls.native = module.NativeEmulator
        return cls

    def __init__(self, rom: Path):
        self._emu = self.native(str(rom))
        # A memoryview of the RAM reads Python ints (numpy's uint8 scalars overflow under numpy 2)
        self.ram = memoryview(self._emu.ram_buffer())
        # The screen as the emulator writes it: 32-bit 0x00RRGGBB pixels, B G R x in memory.
        # nes-py's view starts at R and steps back; [..., ::-1] starts it at B.
        rgb = self._emu.screen_buffer()
        if rgb.strides != (256 * 4, 4, -1):  # the layout of 9.0.1's view, which this relies on
            raise ImportError(f"nes-py's screen view has strides {rgb.strides}, not nes-py "
                              f"9.0.1's: install nes-py 9.0.1 or 8.2.1")
        bgr = rgb[..., ::-1]
        self.bgrx = np.lib.stride_tricks.as_strided(bgr, (240, 256, 4), (256 * 4, 4, 1))
        self.step, self.reset = self._emu.frame_advance, self._emu.reset
        self.backup, self.restore, self.close = (self._emu.backup, self._emu.restore,
                                                 self._emu.close)


class _FastEmulator(_LibEmulator):
    """This project's core (`mario_rllib/env/fastnes`, built at install as `_fastnes*.so`):
    nes-py 8.x's library interface, plus frames whose pixels are not drawn (`step_dark`: the
    CPU, PPU timing, scrolling and sprite-0 hit are exactly as with drawing) and a snapshot of
    all but the screen, to replay a dark frame with its pixels drawn (`snapshot`, `rollback`)."""

    lib: ctypes.CDLL | None = None

    @classmethod
    def load(cls, library: Path) -> type[_FastEmulator]:
        super().load(library)
        for name in ("StepDark", "Snapshot", "Rollback"):
            getattr(cls.lib, name).argtypes, getattr(cls.lib, name).restype = [ctypes.c_void_p], None
        return cls

    def step_dark(self, code: int) -> None:
        self._controller[0] = code
        self.lib.StepDark(self._env)

    def snapshot(self) -> None:
        self.lib.Snapshot(self._env)

    def rollback(self) -> None:
        self.lib.Rollback(self._env)


EMULATORS = ("fast", "nes-py")
"""The `emulator` env option's values: this project's core (the default) and nes-py's own."""


def emulator_class(name: str) -> type[_FastEmulator] | type[_LibEmulator] | type[_NativeEmulator]:
    """The emulator called `name` (one of `EMULATORS`), loaded on first use."""
    if name == "nes-py":
        return EMULATOR
    if name != "fast":
        raise ValueError(f"unknown emulator {name!r}: expected one of {', '.join(EMULATORS)}")
    if _FastEmulator.lib is None:
        _FastEmulator.load(_fast_library())
    return _FastEmulator


def _fast_library() -> Path:
    """The fast emulator's library for this interpreter: beside this module, else the one built
    where mario-rllib is installed. A Ray job runs from an uploaded copy of the project, and Ray's
    upload skips what .gitignore names, built libraries included (`mario-rllib submit`); each node
    has its own build, from its install."""
    places = [Path(__file__).parent]
    try:
        installed = importlib.metadata.distribution("mario-rllib")
        url = json.loads(installed.read_text("direct_url.json") or "{}").get("url", "")
        root = _local_path(url)
        if root is None or not (root / "mario_rllib").is_dir():  # a wheel install: its files
            root = Path(str(installed.locate_file("")))
        places.append(root / "mario_rllib" / "env")
    except importlib.metadata.PackageNotFoundError:
        pass
    for place in places:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            if (library := place / f"_fastnes{suffix}").is_file():
                return library
    searched = " or ".join(str(place) for place in dict.fromkeys(places))
    raise ImportError(f"the fast emulator is not built (no _fastnes library in {searched}): "
                      f"reinstall with a C++ compiler (`bash scripts/install.sh`), or use "
                      f"nes-py's (--emulator nes-py)")


def _local_path(url: str) -> Path | None:
    """The local path of a `file://` URL as pip records it in `direct_url.json` (percent-escaped:
    a space is `%20`); None for any other URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(urllib.request.url2pathname(parsed.path))


def _emulator_class() -> type[_LibEmulator] | type[_NativeEmulator]:
    """The installed nes-py's emulator: 8.x's C++ library, else 9.x's Cython module."""
    package = _package_dir("nes_py")
    if sys.byteorder != "little":
        raise RuntimeError("the NES screen buffer is read as BGRx, which needs a little-endian CPU")
    if library := sorted(package.glob("lib_nes_env*")):
        return _LibEmulator.load(library[0])
    if extension := sorted(package.glob("_native*.so")) + sorted(package.glob("_native*.pyd")):
        return _NativeEmulator.load(extension[0])
    raise ImportError(f"nes-py in {package} has no emulator (neither 8.x's lib_nes_env* nor "
                      f"9.x's _native module): install nes-py 8.2.1 "
                      f"(`pip install --force-reinstall nes-py==8.2.1`)")


EMULATOR = _emulator_class()
ROM_PATH = _package_dir("gym_super_mario_bros") / "_roms" / "super-mario-bros.nes"


@dataclass(frozen=True)
class RomHeader:
    """An iNES header (https://www.nesdev.org/wiki/INES), read with Python integers."""

    prg_banks: int  # 16 KiB each
    chr_banks: int  # 8 KiB each
    mapper: int
    has_trainer: bool
    is_pal: bool  # the header's TV-system bit

    @classmethod
    def read(cls, path: Path) -> RomHeader:
        data = path.read_bytes()
        header = data[:16]
        if len(header) < 16 or header[:4] != b"NES\x1a":
            raise ValueError(f"{path} is not an iNES ROM: no 'NES\\x1a' header")
        if any(header[11:]):
            raise ValueError(f"{path}: the iNES header's bytes 11-15 are not zero")
        flags6, flags7 = header[6], header[7]
        rom = cls(prg_banks=header[4], chr_banks=header[5],
                  mapper=(flags7 & 0xF0) | (flags6 >> 4),
                  has_trainer=bool(flags6 & 0b100), is_pal=bool(header[9] & 1))
        size = 16 + 512 * rom.has_trainer + 16_384 * rom.prg_banks + 8_192 * rom.chr_banks
        if len(data) < size:
            raise ValueError(f"{path} is truncated: {len(data)} bytes, its header says {size}")
        return rom

    def check(self, path: Path) -> None:
        """What nes-py's emulator runs: NTSC, mappers 0-3, no trainer, some PRG-ROM."""
        if self.prg_banks == 0 or self.has_trainer or self.is_pal or self.mapper not in {0, 1, 2, 3}:
            raise ValueError(f"{path}: nes-py cannot run this ROM ({self})")


# Game states in which Mario cannot act (gym-super-mario-bros' `_BUSY_STATES`): left of the
# screen, on a vine, entering a pipe, going down one, auto-walking, entering an area.
_BUSY_STATES = frozenset({0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x07})
_ENEMY_TYPE_ADDRESSES = (0x16, 0x17, 0x18, 0x19, 0x1A)
_STAGE_OVER_ENEMIES = frozenset({0x2D, 0x31})  # Bowser, the flagpole (a vine is neither)
_STATUS = {0: "small", 1: "tall"}  # else "fireball"
_REWARD_RANGE = (-15, 15)
_START = 0b0000_1000  # the controller's start button


class SuperMarioBros:
    """One emulator playing one stage, as gym-super-mario-bros 7.4.0's `SuperMarioBrosEnv` with a
    target stage: created at the stage's start (start screen skipped, stage written to RAM) with
    a snapshot that every `reset` restores. `frame` emulates one frame and returns its reward
    (x progress + clock ticks - 25 on death, clipped to [-15, 15]) and whether the episode ended
    (death or flag); `info` is the game's state; `after_frame` skips the animations of a death, an
    area change and the busy states, as gym-super-mario-bros does after reading the info.

    `frame(code, draw=False)` and `after_frame(done, draw=False)` say that nobody will look at
    the screen those frames leave: the fast emulator then skips their pixel work. A frame that
    ends the episode is always drawn (its screen is the episode's last observation): it is
    replayed from a snapshot with its pixels, to the same state."""

    def __init__(self, stage: str, emulator: str = "fast"):
        world, number = (int(part) for part in stage.split("-"))
        # gym-super-mario-bros' `decode_target`: in worlds 1, 2, 4 and 7 the pipe into stage 2 is
        # an area of its own, so stages 2-4 there are areas 3-5.
        area = number + 1 if world in {1, 2, 4, 7} and number >= 2 else number
        self._target = (world - 1, number - 1, area - 1)
        RomHeader.read(ROM_PATH).check(ROM_PATH)
        self._emu: _FastEmulator | _LibEmulator | _NativeEmulator | None = (
            emulator_class(emulator)(ROM_PATH))
        self.ram, self.bgrx = self._emu.ram, self._emu.bgrx
        self._can_skip_pixels = isinstance(self._emu, _FastEmulator)
        self.done = True
        self._emu.reset()  # power on
        self._mark_start()
        self._skip_start_screen()
        self._emu.backup()

    # --- RAM (https://datacrystal.tcrf.net/wiki/Super_Mario_Bros./RAM_map) ---
    def _digits(self, address: int, length: int) -> int:
        """A number stored one decimal digit per byte (score, coins, time)."""
        return int("".join(map(str, self.ram[address:address + length])))

    @property
    def x_pos(self) -> int:
        return self.ram[0x6D] * 0x100 + self.ram[0x86]  # page * 256 + x within the page

    @property
    def _time(self) -> int:
        return self._digits(0x7F8, 3)

    @property
    def _is_dying(self) -> bool:
        return self.ram[0x0E] == 0x0B or self.ram[0xB5] > 1  # dying state, or below the screen

    @property
    def _is_dead(self) -> bool:
        return self.ram[0x0E] == 0x06

    @property
    def _is_world_over(self) -> bool:
        return self.ram[0x770] == 2  # game mode: end of world

    @property
    def _flag_get(self) -> bool:
        if self._is_world_over:
            return True
        for address in _ENEMY_TYPE_ADDRESSES:
            if self.ram[address] in _STAGE_OVER_ENEMIES:
                return self.ram[0x1D] == 3  # sliding down the flagpole
        return False

    def info(self) -> dict:
        """gym-super-mario-bros' info, as Python values. `y_pos` above the screen is the true
        height (gym-super-mario-bros' wraps it modulo 256 in uint8 arithmetic)."""
        ram = self.ram
        y_pixel = ram[0x3B8]
        return {
            "coins": self._digits(0x7ED, 2),
            "flag_get": self._flag_get,
            "life": ram[0x75A],
            "score": self._digits(0x7DE, 6),
            "stage": ram[0x75C] + 1,
            "status": _STATUS.get(ram[0x756], "fireball"),
            "time": self._time,
            "world": ram[0x75F] + 1,
            "x_pos": self.x_pos,
            "y_pos": 255 + (255 - y_pixel) if ram[0xB5] < 1 else 255 - y_pixel,
        }

    # --- one frame ---
    def reset(self) -> None:
        self._emu.restore()
        self._mark_start()
        self.done = False

    def frame(self, code: int, draw: bool = True) -> tuple[float, bool]:
        if self.done:
            raise ValueError("cannot step in a done environment! call `reset`")
        dark = not draw and self._can_skip_pixels
        if dark:
            self._emu.snapshot()
            self._emu.step_dark(code)
        else:
            self._advance(code)
        x_pos, time = self.x_pos, self._time
        x_reward = x_pos - self._x_last
        if not -5 <= x_reward <= 5:  # a reset or a warp moved Mario: no reward for it
            x_reward = 0
        time_penalty = min(time - self._time_last, 0)  # a clock that went up was reset
        self._x_last, self._time_last = x_pos, time
        dying = self._is_dying or self._is_dead
        low, high = _REWARD_RANGE
        reward = float(min(max(x_reward + time_penalty - 25 * dying, low), high))
        self.done = dying or self._flag_get
        if self.done and dark:  # the episode's last screen: replay the frame, drawn
            self._emu.rollback()
            self._advance(code)
        return reward, self.done

    def after_frame(self, done: bool, draw: bool = True) -> None:
        if done:
            return
        if self._is_dying:  # cut the death animation short
            self.ram[0x0E] = 0x06
            self._advance(0, draw)
        if 1 < self.ram[0x6DE] < 255:  # run the area-change timer out (pipes, flag)
            self.ram[0x6DE] = 1
        while self.ram[0x0E] in _BUSY_STATES or self._is_world_over:
            self.ram[0x7A0] = 0  # the pre-level timer (the screen between lives)
            self._advance(0, draw)

    def close(self) -> None:
        if self._emu is not None:
            self._emu.close()  # 8.x frees the emulator's memory: no view of it may outlive it
            self._emu = self.ram = self.bgrx = None

    # --- internals ---
    def _advance(self, code: int, draw: bool = True) -> None:
        if draw or not self._can_skip_pixels:
            self._emu.step(code)
        else:
            self._emu.step_dark(code)

    def _mark_start(self) -> None:
        self._time_last, self._x_last = self._time, self.x_pos

    def _skip_start_screen(self) -> None:
        """Press start until the clock runs, writing the target stage into RAM meanwhile, then
        idle until it ticks (gym-super-mario-bros' `_skip_start_screen`)."""
        self._advance(_START)
        self._advance(0)
        while self._time == 0:
            self._advance(_START)
            self.ram[0x75F], self.ram[0x75C], self.ram[0x760] = self._target
            self._advance(0)
            self.ram[0x7A0] = 0  # skip the pre-level screen
        self._time_last = self._time
        while self._time >= self._time_last:
            self._time_last = self._time
            self._advance(_START)
            self._advance(0)


def reference_env(stage: str = "1-1"):
    """gym-super-mario-bros' own env for one stage (old gym API, controller bytes as actions):
    the ground truth `SuperMarioBros` is checked against. Its RAM arithmetic needs numpy 1."""
    import contextlib
    import io

    with contextlib.redirect_stderr(io.StringIO()):  # gym's "unmaintained" notice, once
        import gym  # noqa: F401
    from gym_super_mario_bros.smb_env import SuperMarioBrosEnv

    world, number = (int(part) for part in stage.split("-"))
    return SuperMarioBrosEnv(rom_mode="vanilla", target=(world, number))


class NESFrames(gym.Env):
    """The agent-step logic over an emulator of single frames: frame skip with max-pool, sticky
    actions, no-op starts, the furthest x position. Subclasses drive the emulator (`_reset_to`,
    `_frame`, `_info`, `_screen`); a scripted one makes the logic checkable by hand.

    Randomness comes from the env's `np_random` (seeded by `reset(seed=...)`), in this order: the
    stage drawn from the stage list, the number of no-op frames, then one draw per frame for
    sticky actions (when `sticky_action_prob > 0`, no-op frames included).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 60}

    def __init__(self, stages: Sequence[str], num_actions: int, *, frame_skip: int = 4,
                 sticky_action_prob: float = 0.0, noop_max: int = 0,
                 render_mode: str | None = None):
        self.stages = tuple(stages)
        self.frame_skip = frame_skip
        self.sticky_action_prob = sticky_action_prob
        self.noop_max = noop_max
        self.render_mode = render_mode
        self.action_space = gym.spaces.Discrete(num_actions)
        self.stage = self.stages[0]
        self._last_action = NOOP_ACTION
        self._x_pos_max = 0
        self._second_last: np.ndarray | None = None  # reused buffer for the max-pool

    # --- the emulator, one frame at a time (subclasses) ---
    def _reset_to(self, stage: str) -> None:
        raise NotImplementedError

    def _frame(self, action: int, draw: bool) -> tuple[float, bool, int]:
        """Emulate one frame; return (reward, terminated, x position). `draw=False`: nobody
        looks at the screen it leaves unless it ends the episode (an emulator may skip its
        pixel work)."""
        raise NotImplementedError

    def _info(self) -> dict:
        """The game's info now, with `x_pos_max` (read before the frame's after-step skips, as
        nes-py reads it)."""
        raise NotImplementedError

    def _screen(self) -> np.ndarray:
        """The current screen, as a new RGB array."""
        raise NotImplementedError

    def _after_frame(self, terminated: bool, draw: bool) -> None:
        """What the emulator does once the frame's info was read (skips of area changes)."""

    # --- Gymnasium ---
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a stage: `options={"level": "4-1"}` picks one, else it is drawn; after
        `options={"noops": k}` no-op frames (0 <= k <= noop_max), else a drawn number."""
        super().reset(seed=seed)
        options = options or {}
        stage = options.get("level")
        if stage is None:
            stage = self.stages[int(self.np_random.integers(len(self.stages)))]
        elif stage not in ALL_STAGES:
            raise ValueError(f"unknown level {stage!r}: expected a stage 'W-S' with world 1-8 "
                             f"and stage 1-4 (e.g. '1-1')")
        noops = options.get("noops")
        if noops is None:
            noops = int(self.np_random.integers(0, self.noop_max + 1)) if self.noop_max else 0
        elif not 0 <= noops <= self.noop_max:
            raise ValueError(f"bad noops {noops!r}: expected an integer in 0..{self.noop_max}")
        self._start(stage)
        for _ in range(noops):
            _, terminated, _ = self._sticky_frame(NOOP_ACTION, draw=True)
            self._after_frame(terminated, draw=True)
            if terminated:  # cannot happen in 30 frames of any stage start, but be safe
                self._start(stage)
        return self._screen(), self._info()

    def _start(self, stage: str) -> None:
        self.stage = stage
        self._reset_to(stage)
        self._last_action = NOOP_ACTION
        self._x_pos_max = int(self._info()["x_pos"])

    def _sticky_frame(self, action: int, draw: bool) -> tuple[float, bool, int]:
        if self.sticky_action_prob > 0 and self.np_random.random() < self.sticky_action_prob:
            action = self._last_action
        self._last_action = action
        reward, terminated, x_pos = self._frame(action, draw)
        self._x_pos_max = max(self._x_pos_max, x_pos)
        return reward, terminated, x_pos

    def step(self, action):
        """`frame_skip` frames of `action`: the max of the last two screens (the terminal one
        alone if the episode ends first), the summed reward, the last frame's info. The screens
        of the frames before the last two are never seen (`draw=False`)."""
        total = 0.0
        for i in range(self.frame_skip):
            draw = i >= self.frame_skip - 2
            reward, terminated, _ = self._sticky_frame(action, draw)
            total += reward
            last = terminated or i == self.frame_skip - 1
            info = self._info() if last else None
            self._after_frame(terminated, draw)
            if last:
                break
            if i == self.frame_skip - 2:
                self._second_last = self._screen()
        screen = self._screen()
        if self.frame_skip > 1 and i == self.frame_skip - 1:
            np.maximum(screen, self._second_last, out=screen)
        return screen, total, terminated, False, info

    def render(self):
        return self._screen() if self.render_mode == "rgb_array" else None


class MarioNES(NESFrames):
    """Super Mario Bros on nes-py's emulator (see the module docstring), RGB screens (240, 256, 3).

    Screens come from the emulator's BGRx buffer through cv2's conversion, tens of times cheaper
    than numpy's copy of nes-py's reversed-channel view (docs/performance.md). One emulator per
    stage, each created on its first draw (about 0.4 s: the start screen is skipped and a
    snapshot taken, which every later reset restores).
    """

    def __init__(self, stages: Sequence[str], action_set: str, *, emulator: str = "fast",
                 **kwargs):
        from mario_rllib.env.actions import controller_bytes

        self._codes = controller_bytes(action_set)
        super().__init__(stages, len(self._codes), **kwargs)
        self.action_set = action_set
        emulator_class(emulator)  # an unknown or unbuilt emulator fails here, not at reset
        self.emulator = emulator
        self.observation_space = gym.spaces.Box(0, 255, SCREEN_SHAPE, dtype=np.uint8)
        self._emulators: dict[str, SuperMarioBros] = {}
        self._nes: SuperMarioBros | None = None
        self.nes_frames = 0  # NES frames emulated since creation, for throughput measurements

    def _reset_to(self, stage: str) -> None:
        if stage not in self._emulators:
            self._emulators[stage] = SuperMarioBros(stage, self.emulator)
        self._nes = self._emulators[stage]
        self._nes.reset()

    def _frame(self, action: int, draw: bool) -> tuple[float, bool, int]:
        reward, done = self._nes.frame(self._codes[action], draw)
        self.nes_frames += 1
        return reward, done, self._nes.x_pos

    def _after_frame(self, terminated: bool, draw: bool) -> None:
        # The skips of a pipe entry, an area change or a death animation come after the info is
        # read: the info of the frame that enters a pipe tells where Mario went down, and the
        # screen where he comes out.
        self._nes.after_frame(terminated, draw)

    def _info(self) -> dict:
        info = self._nes.info()
        info["x_pos_max"] = self._x_pos_max
        return info

    def _screen(self) -> np.ndarray:
        return cv2.cvtColor(self._nes.bgrx, cv2.COLOR_BGRA2RGB)

    def get_action_meanings(self) -> list[str]:
        from mario_rllib.env.actions import action_meanings

        return action_meanings(self.action_set)

    def close(self):
        for emulator in self._emulators.values():
            emulator.close()
        self._emulators.clear()
        self._nes = None

