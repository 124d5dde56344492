//  Program:      nes-py
//  File:         main_bus.hpp
//  Description:  This class houses the main bus data for the NES
//
//  Copyright (c) 2019 Christian Kauten. All rights reserved.
//

#ifndef MAIN_BUS_HPP
#define MAIN_BUS_HPP

#include <vector>
#include "common.hpp"
#include "mapper.hpp"

namespace FastNES {

/// The IO registers on the main bus
enum IORegisters {
    PPUCTRL = 0x2000,
    PPUMASK,
    PPUSTATUS,
    OAMADDR,
    OAMDATA,
    PPUSCROL,
    PPUADDR,
    PPUDATA,
    OAMDMA = 0x4014,
    JOY1 = 0x4016,
    JOY2 = 0x4017,
};

/// An enum functor object for calculating the hash of an enum class
/// https://stackoverflow.com/questions/18837857/cant-use-enum-class-as-unordered-map-key
class PPU;
class PictureBus;
class Controller;
class CPU;

class MainBus {
 private:
    /// The RAM on the main bus
    std::vector<NES_Byte> ram;
    /// The extended RAM (if the mapper has extended RAM)
    std::vector<NES_Byte> extended_ram;
    /// a pointer to the mapper on the cartridge
    Mapper* mapper;
    // FastNES: the I/O registers call the PPU, controllers and CPU directly (nes-py looks
    // std::function callbacks up in a hash map on every access), with nes-py's semantics.
    PPU* ppu = nullptr;
    PictureBus* picture_bus = nullptr;
    Controller* controllers = nullptr;
    CPU* cpu = nullptr;

 public:
    /// Initialize a new main bus.
    MainBus() : ram(0x800, 0), mapper(nullptr) { }

    /// Return a 8-bit pointer to the RAM buffer's first address.
    ///
    /// @return a 8-bit pointer to the RAM buffer's first address
    ///
    inline NES_Byte* get_memory_buffer() { return &ram.front(); }

    /// Read a byte from an address on the RAM.
    ///
    /// @param address the 16-bit address of the byte to read in the RAM
    ///
    /// @return the byte located at the given address
    ///
    NES_Byte read(NES_Address address);

    /// Write a byte to an address in the RAM.
    ///
    /// @param address the 16-bit address to write the byte to in RAM
    /// @param value the byte to write to the given address
    ///
    void write(NES_Address address, NES_Byte value);

    /// Set the mapper pointer to a new value.
    ///
    /// @param mapper the new mapper pointer for the bus to use
    ///
    void set_mapper(Mapper* mapper);

    /// Connect the I/O registers to the machine's parts.
    inline void connect(PPU* ppu_, PictureBus* picture_bus_, Controller* controllers_, CPU* cpu_) {
        ppu = ppu_; picture_bus = picture_bus_; controllers = controllers_; cpu = cpu_;
    }

    /// Return a pointer to the page in memory.
    const NES_Byte* get_page_pointer(NES_Byte page);
};

}  // namespace FastNES

#endif  // MAIN_BUS_HPP
