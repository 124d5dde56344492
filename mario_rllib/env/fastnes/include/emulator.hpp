//  Program:      nes-py
//  File:         emulator.hpp
//  Description:  This class houses the logic and data for an NES emulator
//
//  Copyright (c) 2019 Christian Kauten. All rights reserved.
//

#ifndef EMULATOR_HPP
#define EMULATOR_HPP

#include <cstring>
#include <string>
#include "common.hpp"
#include "cartridge.hpp"
#include "controller.hpp"
#include "cpu.hpp"
#include "ppu.hpp"
#include "main_bus.hpp"
#include "picture_bus.hpp"

namespace FastNES {

/// An NES Emulator and OpenAI Gym interface
class Emulator {
 private:
    /// The number of cycles in 1 frame
    static const int CYCLES_PER_FRAME = 29781;
    /// the virtual cartridge with ROM and mapper data
    Cartridge cartridge;
    /// the 2 controllers on the emulator
    Controller controllers[2];

    /// the main data bus of the emulator
    MainBus bus;
    /// the picture bus from the PPU of the emulator
    PictureBus picture_bus;
    /// The emulator's CPU
    CPU cpu;
    /// the emulators' PPU
    PPU ppu;

    /// the screen the PPU draws (FastNES: outside the PPU) and its backup
    NES_Pixel screen[VISIBLE_SCANLINES][SCANLINE_VISIBLE_DOTS];
    NES_Pixel backup_screen[VISIBLE_SCANLINES][SCANLINE_VISIBLE_DOTS];

    /// FastNES: the machine before the last `snapshot`, controllers included, screen excluded
    MainBus snapshot_bus;
    PictureBus snapshot_picture_bus;
    CPU snapshot_cpu;
    PPU snapshot_ppu;
    Controller snapshot_controllers[2];

    /// the main data bus of the emulator
    MainBus backup_bus;
    /// the picture bus from the PPU of the emulator
    PictureBus backup_picture_bus;
    /// The emulator's CPU
    CPU backup_cpu;
    /// the emulators' PPU
    PPU backup_ppu;

 public:
    /// The width of the NES screen in pixels
    static const int WIDTH = SCANLINE_VISIBLE_DOTS;
    /// The height of the NES screen in pixels
    static const int HEIGHT = VISIBLE_SCANLINES;

    /// Initialize a new emulator with a path to a ROM file.
    ///
    /// @param rom_path the path to the ROM for the emulator to run
    ///
    explicit Emulator(std::string rom_path);

    /// Return a 32-bit pointer to the screen buffer's first address.
    ///
    /// @return a 32-bit pointer to the screen buffer's first address
    ///
    inline NES_Pixel* get_screen_buffer() { return ppu.get_screen_buffer(); }

    /// Return a 8-bit pointer to the RAM buffer's first address.
    ///
    /// @return a 8-bit pointer to the RAM buffer's first address
    ///
    inline NES_Byte* get_memory_buffer() { return bus.get_memory_buffer(); }

    /// Return a pointer to a controller port
    ///
    /// @param port the port of the controller to return the pointer to
    /// @return a pointer to the byte buffer for the controller state
    ///
    inline NES_Byte* get_controller(int port) {
        return controllers[port].get_joypad_buffer();
    }

    /// Load the ROM into the NES.
    inline void reset() { cpu.reset(bus); ppu.reset(); }

    /// Perform a step on the emulator, i.e., a single frame; without `render`, the frame's
    /// pixels are not drawn (FastNES).
    void step(bool render = true);

    /// FastNES: keep the machine's state (all but the screen), for `rollback`. The mapper's own
    /// state (bank registers, CHR RAM) is not kept, as nes-py's `backup` does not keep it:
    /// Super Mario Bros' NROM cartridge has none.
    inline void snapshot() {
        snapshot_bus = bus;
        snapshot_picture_bus = picture_bus;
        snapshot_cpu = cpu;
        snapshot_ppu = ppu;
        snapshot_controllers[0] = controllers[0];
        snapshot_controllers[1] = controllers[1];
    }

    /// FastNES: go back to the last `snapshot`, to replay a frame with its pixels drawn.
    inline void rollback() {
        bus = snapshot_bus;
        picture_bus = snapshot_picture_bus;
        cpu = snapshot_cpu;
        ppu = snapshot_ppu;
        controllers[0] = snapshot_controllers[0];
        controllers[1] = snapshot_controllers[1];
        ppu.invalidate_cache();
    }

    /// Create a backup state on the emulator.
    inline void backup() {
        backup_bus = bus;
        backup_picture_bus = picture_bus;
        backup_cpu = cpu;
        backup_ppu = ppu;
        std::memcpy(backup_screen, screen, sizeof(screen));
    }

    /// Restore the backup state on the emulator.
    inline void restore() {
        bus = backup_bus;
        picture_bus = backup_picture_bus;
        cpu = backup_cpu;
        ppu = backup_ppu;
        std::memcpy(screen, backup_screen, sizeof(screen));
        ppu.invalidate_cache();
    }
};

}  // namespace FastNES

#endif  // EMULATOR_HPP
