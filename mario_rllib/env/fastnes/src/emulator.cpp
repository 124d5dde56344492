//  Program:      nes-py
//  File:         emulator.cpp
//  Description:  This class houses the logic and data for an NES emulator
//
//  Copyright (c) 2019 Christian Kauten. All rights reserved.
//

#include <algorithm>
#include "emulator.hpp"
#include "mapper_factory.hpp"
#include "log.hpp"

namespace FastNES {

Emulator::Emulator(std::string rom_path) {
    // FastNES: the I/O registers and the vertical blanking interrupt are wired directly
    bus.connect(&ppu, &picture_bus, controllers, &cpu);
    ppu.connect(&cpu, &bus);
    std::memset(screen, 0, sizeof(screen));
    std::memset(backup_screen, 0, sizeof(backup_screen));
    ppu.set_screen(screen);
    // load the ROM from disk, expect that the Python code has validated it
    cartridge.loadFromFile(rom_path);
    // create the mapper based on the mapper ID in the iNES header of the ROM
    auto mapper = MapperFactory(&cartridge, [&](){ picture_bus.update_mirroring(); });
    // give the IO buses a pointer to the mapper
    bus.set_mapper(mapper);
    picture_bus.set_mapper(mapper);
    // FastNES: a rollback before any snapshot finds the machine as it was built
    snapshot();
}

void Emulator::step(bool render) {
    ppu.render = render;
    // render a single frame on the emulator: 3 PPU cycles, then 1 CPU cycle, as nes-py. FastNES:
    // while the CPU only counts an instruction's cycles down, nothing it does reaches the PPU,
    // so the PPU runs those cycles and the next CPU cycle's 3 in one call. An NMI the PPU raises
    // meanwhile only adds cycles for the CPU to count down, which commutes with the counting.
    for (int i = 0; i < CYCLES_PER_FRAME; ) {
        const int idle = std::max(cpu.idle_cycles(), 0);
        if (idle + 1 <= CYCLES_PER_FRAME - i) {
            ppu.run(picture_bus, 3 * (idle + 1));
            cpu.idle(idle);
            cpu.cycle(bus);
            i += idle + 1;
        } else {  // the frame ends while the CPU counts down
            const int rest = CYCLES_PER_FRAME - i;
            ppu.run(picture_bus, 3 * rest);
            cpu.idle(rest);
            i += rest;
        }
    }
}

}  // namespace FastNES
