//  Program:      nes-py
//  File:         main_bus.cpp
//  Description:  This class houses the main bus data for the NES
//
//  Copyright (c) 2019 Christian Kauten. All rights reserved.
//

#include "main_bus.hpp"
#include "log.hpp"
#include "controller.hpp"
#include "cpu.hpp"
#include "ppu.hpp"
#include "picture_bus.hpp"

namespace FastNES {

NES_Byte MainBus::read(NES_Address address) {
    if (address < 0x2000) {
        return ram[address & 0x7ff];
    } else if (address < 0x4020) {
        if (address < 0x4000) {  // PPU registers, mirrored
            switch (address & 0x2007) {
                case PPUSTATUS: return ppu->get_status();
                case PPUDATA: return ppu->get_data(*picture_bus);
                case OAMDATA: return ppu->get_OAM_data();
                default: break;  // no reader: 0, as nes-py
            }
        } else if (address < 0x4018 && address >= 0x4014) {  // only *some* IO registers
            if (address == JOY1) return controllers[0].read();
            if (address == JOY2) return controllers[1].read();
        }
        else {
            LOG(InfoVerbose) << "Read access attempt at: " << std::hex << +address << std::endl;
        }
    } else if (address < 0x6000) {
        LOG(InfoVerbose) << "Expansion ROM read attempted. This is currently unsupported" << std::endl;
    } else if (address < 0x8000) {
        if (mapper->hasExtendedRAM())
            return extended_ram[address - 0x6000];
    } else {
        return mapper->readPRG(address);
    }
    return 0;
}

void MainBus::write(NES_Address address, NES_Byte value) {
    if (address < 0x2000) {
        ram[address & 0x7ff] = value;
    } else if (address < 0x4020) {
        if (address < 0x4000) {  // PPU registers, mirrored
            switch (address & 0x2007) {
                case PPUCTRL: ppu->control(value); return;
                case PPUMASK: ppu->set_mask(value); return;
                case OAMADDR: ppu->set_OAM_address(value); return;
                case PPUADDR: ppu->set_data_address(value); return;
                case PPUSCROL: ppu->set_scroll(value); return;
                case PPUDATA: ppu->set_data(*picture_bus, value); return;
                case OAMDATA: ppu->set_OAM_data(value); return;
                default: return;  // PPUSTATUS: no writer, as nes-py
            }
        } else if (address < 0x4017 && address >= 0x4014) {  // only some registers
            if (address == OAMDMA) {
                cpu->skip_DMA_cycles();
                ppu->do_DMA(get_page_pointer(value));
            } else if (address == JOY1) {
                controllers[0].strobe(value);
                controllers[1].strobe(value);
            }
            return;
        } else {
            LOG(InfoVerbose) << "Write access attmept at: " << std::hex << +address << std::endl;
        }
    } else if (address < 0x6000) {
        LOG(InfoVerbose) << "Expansion ROM access attempted. This is currently unsupported" << std::endl;
    } else if (address < 0x8000) {
        if (mapper->hasExtendedRAM())
            extended_ram[address - 0x6000] = value;
    } else {
        mapper->writePRG(address, value);
        // FastNES: a mapper may switch CHR banks or mirroring here; the PPU's caches of pattern
        // reads are then stale
        ++picture_bus->generation;
    }
}

const NES_Byte* MainBus::get_page_pointer(NES_Byte page) {
    NES_Address address = page << 8;
    if (address < 0x2000)
        return &ram[address & 0x7ff];
    else if (address < 0x4020)
        LOG(Error) << "Register address memory pointer access attempt" << std::endl;
    else if (address < 0x6000)
        LOG(Error) << "Expansion ROM access attempted, which is unsupported" << std::endl;
    else if (address < 0x8000)
        if (mapper->hasExtendedRAM())
            return &extended_ram[address - 0x6000];

    return nullptr;
}

void MainBus::set_mapper(Mapper* mapper) {
    this->mapper = mapper;
    if (mapper->hasExtendedRAM())
        extended_ram.resize(0x2000);
}

}  // namespace FastNES
