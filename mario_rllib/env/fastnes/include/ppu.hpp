//  Program:      nes-py
//  File:         ppu.hpp
//  Description:  This class houses the logic and data for the PPU of an NES
//
//  Copyright (c) 2019 Christian Kauten. All rights reserved.
//

#ifndef PPU_HPP
#define PPU_HPP

#include "common.hpp"
#include "picture_bus.hpp"
#include "main_bus.hpp"

namespace FastNES {

/// The number of visible scan lines (i.e., the height of the screen)
const int VISIBLE_SCANLINES = 240;
/// The number of visible dots per scan line (i.e., the width of the screen)
const int SCANLINE_VISIBLE_DOTS = 256;
/// The number of cycles per scanline
const int SCANLINE_CYCLE_LENGTH = 341;
/// The last cycle of a scan line (changed from 340 to fix render glitch)
const int SCANLINE_END_CYCLE = 341;
/// The last scanline per frame
const int FRAME_END_SCANLINE = 261;

/// The Picture Processing Unit (PPU) for the NES
class PPU {
 private:
    /// FastNES: the CPU and bus that vertical blanking interrupts (nes-py: a std::function)
    CPU* cpu = nullptr;
    MainBus* main_bus = nullptr;
    /// The OAM memory (sprites)
    std::vector<NES_Byte> sprite_memory;
    /// OAM memory (sprites) for the next scanline
    std::vector<NES_Byte> scanline_sprites;

    /// The current pipeline state of the PPU
    enum State {
        PRE_RENDER,
        RENDER,
        POST_RENDER,
        VERTICAL_BLANK
    } pipeline_state;

    /// The number of cycles left in the frame
    int cycles;
    /// the current scanline of the frame
    int scanline;
    /// whether the PPU is on an even frame
    bool is_even_frame;

    // Status

    /// whether the PPU is in vertical blanking mode
    bool is_vblank;
    /// whether sprite 0 has been hit (i.e., collision detection)
    bool is_sprite_zero_hit;

    // Registers

    /// the current data address to (read / write) (from / to)
    NES_Address data_address;
    /// a temporary address register
    NES_Address temp_address;
    /// the fine scrolling position
    NES_Byte fine_x_scroll;
    /// TODO: doc
    bool is_first_write;
    /// The address of the data buffer
    NES_Byte data_buffer;
    /// the read / write address for the OAM memory (sprites)
    NES_Byte sprite_data_address;

    // Mask

    /// whether the PPU is showing sprites
    bool is_showing_sprites;
    /// whether the PPU is showing background pixels
    bool is_showing_background;
    /// whether the PPU is hiding sprites along the edges
    bool is_hiding_edge_sprites;
    /// whether the PPU is hiding the background along the edges
    bool is_hiding_edge_background;

    // Setup flags and variables

    /// TODO: doc
    bool is_long_sprites;
    /// whether the PPU is in the interrupt handler
    bool is_interrupting;

    /// TODO: doc
    enum CharacterPage {
        LOW,
        HIGH,
    } background_page, sprite_page;

    /// The value to increment the data address by
    NES_Address data_address_increment;

    /// The screen: the emulator's buffer (FastNES: not a member, so that copying the PPU's
    /// state for a frame's rollback does not copy 240 KiB of pixels)
    NES_Pixel (*screen)[SCANLINE_VISIBLE_DOTS] = nullptr;

    /// FastNES: the last background fetch (pattern bytes and attribute bits of one tile row),
    /// reused while `data_address`, the background page and the picture bus's contents
    /// (`PictureBus::generation`) are the same: the same reads nes-py does, once per tile
    bool bg_cached = false;
    NES_Address bg_key = 0;
    int bg_page_key = 0;
    unsigned bg_generation = 0;
    NES_Byte bg_low = 0, bg_high = 0, bg_attribute = 0;

    /// FastNES: the current scanline's sprites, drawn once (what nes-py's per-dot loop over
    /// `scanline_sprites` finds at each x), kept while the OAM, the sprite settings, the
    /// scanline and the picture bus's contents are the same
    enum LineState : NES_Byte { LINE_NONE, LINE_TRANSPARENT, LINE_OPAQUE };
    bool line_valid = false;
    int line_scanline = 0;
    unsigned line_generation = 0;
    NES_Byte line_state[SCANLINE_VISIBLE_DOTS];
    NES_Byte line_color[SCANLINE_VISIBLE_DOTS];
    bool line_foreground[SCANLINE_VISIBLE_DOTS];
    NES_Byte line_sprite[SCANLINE_VISIBLE_DOTS];
    void update_sprite_line(PictureBus& bus);

    /// Fetch the background tile row that `data_address` points to (through the cache).
    void fetch_background(PictureBus& bus);

    /// Whether sprite 0's pixel at x on this scanline is opaque (nes-py's sprite loop, for
    /// the first sprite only).
    bool sprite_zero_opaque(PictureBus& bus, int x, int y);


 public:
    /// Initialize a new PPU.
    PPU() : sprite_memory(64 * 4) { }

    /// Perform a single cycle on the PPU.
    void cycle(PictureBus& bus);

    /// FastNES: `n` cycles in one call (the CPU idles meanwhile).
    void run(PictureBus& bus, int n);

 private:
    inline void cycle_inline(PictureBus& bus);
    /// One visible dot (nes-py's pixel work), then `n` of them (FastNES).
    inline void pixel(PictureBus& bus);
    void pixels(PictureBus& bus, int n);
    inline void increment_coarse_x();

 public:

    /// Reset the PPU.
    void reset();

    /// FastNES: whether this frame's pixels are written. Without, the PPU keeps its timing,
    /// scrolling and sprite-0 hit exactly as with, and leaves the screen as it was.
    bool render = true;

    /// Where the PPU draws.
    inline void set_screen(NES_Pixel (*buffer)[SCANLINE_VISIBLE_DOTS]) { screen = buffer; }

    /// Forget the background fetch cache (after the bus's contents were replaced).
    inline void invalidate_cache() { bg_cached = false; line_valid = false; }

    /// Set the interrupt callback for the CPU.
    inline void connect(CPU* cpu_, MainBus* bus_) { cpu = cpu_; main_bus = bus_; }

    /// TODO: doc
    void do_DMA(const NES_Byte* page_ptr);

    // MARK: Callbacks mapped to CPU address space

    /// Set the control register to a new value.
    ///
    /// @param ctrl the new control register byte
    ///
    void control(NES_Byte ctrl);

    /// Set the mask register to a new value.
    ///
    /// @param mask the new mask value
    ///
    void set_mask(NES_Byte mask);

    /// Set the scroll register to a new value.
    ///
    /// @param scroll the new scroll register value
    ///
    void set_scroll(NES_Byte scroll);

    /// Return the value in the PPU status register.
    NES_Byte get_status();

    /// TODO: doc
    void set_data_address(NES_Byte address);

    /// Read data off the picture bus.
    ///
    /// @param bus the bus to read data off of
    ///
    NES_Byte get_data(PictureBus& bus);

    /// TODO: doc
    void set_data(PictureBus& bus, NES_Byte data);

    /// Set the sprite data address to a new value.
    ///
    /// @param address the new OAM data address
    ///
    inline void set_OAM_address(NES_Byte address) {
        sprite_data_address = address;
    }

    /// Read a byte from OAM memory at the sprite data address.
    ///
    /// @return the byte at the given address in OAM memory
    ///
    inline NES_Byte get_OAM_data() {
        return sprite_memory[sprite_data_address];
    }

    /// Write a byte to OAM memory at the sprite data address.
    ///
    /// @param value the byte to write to the given address
    ///
    inline void set_OAM_data(NES_Byte value) {
        line_valid = false;
        sprite_memory[sprite_data_address++] = value;
    }

    /// Return a pointer to the screen buffer.
    inline NES_Pixel* get_screen_buffer() { return *screen; }
};

}  // namespace FastNES

#endif  // PPU_HPP
