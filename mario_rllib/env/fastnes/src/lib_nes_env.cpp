//  Program:      nes-py
//  File:         lib_nes_env.cpp
//  Description:  file describes the outward facing ctypes API for Python
//
//  Copyright (c) 2019 Christian Kauten. All rights reserved.
//

#include <string>
#include "common.hpp"
#include "emulator.hpp"

// Windows-base systems
#if defined(_WIN32) || defined(WIN32) || defined(__CYGWIN__) || defined(__MINGW32__) || defined(__BORLANDC__)
    // setup the module initializer. required to link visual studio C++ ctypes
    void PyInit__fastnes() { }
    // setup the function modifier to export in the DLL
    #define EXP __declspec(dllexport)
// Unix-like systems
#else
    // setup the modifier as a dummy
    #define EXP
#endif

// definitions of functions for the Python interface to access
extern "C" {
    /// Return the width of the NES.
    EXP int Width() {
        return FastNES::Emulator::WIDTH;
    }

    /// Return the height of the NES.
    EXP int Height() {
        return FastNES::Emulator::HEIGHT;
    }

    /// Initialize a new emulator and return a pointer to it
    EXP FastNES::Emulator* Initialize(wchar_t* path) {
        // convert the c string to a c++ std string data structure
        std::wstring ws_rom_path(path);
        std::string rom_path(ws_rom_path.begin(), ws_rom_path.end());
        // create a new emulator with the given ROM path
        return new FastNES::Emulator(rom_path);
    }

    /// Return a pointer to a controller on the machine
    EXP FastNES::NES_Byte* Controller(FastNES::Emulator* emu, int port) {
        return emu->get_controller(port);
    }

    /// Return the pointer to the screen buffer
    EXP FastNES::NES_Pixel* Screen(FastNES::Emulator* emu) {
        return emu->get_screen_buffer();
    }

    /// Return the pointer to the memory buffer
    EXP FastNES::NES_Byte* Memory(FastNES::Emulator* emu) {
        return emu->get_memory_buffer();
    }

    /// Reset the emulator
    EXP void Reset(FastNES::Emulator* emu) {
        emu->reset();
    }

    /// Perform a discrete step in the emulator (i.e., 1 frame)
    EXP void Step(FastNES::Emulator* emu) {
        emu->step();
    }

    /// FastNES: one frame whose pixels are not drawn (timing, scrolling, sprite-0 hit exact)
    EXP void StepDark(FastNES::Emulator* emu) {
        emu->step(false);
    }

    /// FastNES: keep the machine's state but the screen, for Rollback
    EXP void Snapshot(FastNES::Emulator* emu) {
        emu->snapshot();
    }

    /// FastNES: go back to the last Snapshot
    EXP void Rollback(FastNES::Emulator* emu) {
        emu->rollback();
    }

    /// Create a deep copy (i.e., a clone) of the given emulator
    EXP void Backup(FastNES::Emulator* emu) {
        emu->backup();
    }

    /// Create a deep copy (i.e., a clone) of the given emulator
    EXP void Restore(FastNES::Emulator* emu) {
        emu->restore();
    }

    /// Close the emulator, i.e., purge it from memory
    EXP void Close(FastNES::Emulator* emu) {
        delete emu;
    }
}

// un-define the macro
#undef EXP
