//  Program:      nes-py
//  File:         ppu.cpp
//  Description:  This class houses the logic and data for the PPU of an NES
//
//  Copyright (c) 2019 Christian Kauten. All rights reserved.
//

#include <algorithm>
#include <cstring>
#include "ppu.hpp"
#include "palette.hpp"
#include "log.hpp"
#include "cpu.hpp"

namespace FastNES {

void PPU::reset() {
    is_long_sprites = false;
    is_interrupting = false;
    is_vblank = false;
    is_showing_background = true;
    is_showing_sprites = true;
    is_even_frame = true;
    is_first_write = true;
    background_page = LOW;
    sprite_page = LOW;
    data_address = 0;
    cycles = 0;
    scanline = 0;
    sprite_data_address = 0;
    fine_x_scroll = 0;
    temp_address = 0;
    data_address_increment = 1;
    pipeline_state = PRE_RENDER;
    bg_cached = false;
    line_valid = false;
    scanline_sprites.reserve(8);
    scanline_sprites.resize(0);
}

inline __attribute__((always_inline)) void PPU::pixel(PictureBus& bus) {
    NES_Byte bgColor = 0, sprColor = 0;
    bool bgOpaque = false, sprOpaque = true;
    bool spriteForeground = false;

    int x = cycles - 1;
    int y = scanline;
    // FastNES: a frame nobody looks at computes only what sprite-0 hit needs
    const bool sprite_zero_check = !render && !is_sprite_zero_hit
        && is_showing_sprites && is_showing_background
        && (!is_hiding_edge_sprites || x >= 8)
        && !scanline_sprites.empty() && scanline_sprites[0] == 0;

    if (is_showing_background) {
        auto x_fine = (fine_x_scroll + x) % 8;
        if (!is_hiding_edge_background || x >= 8) {
            if (render || sprite_zero_check) {
                if (!(bg_cached && bg_key == data_address && bg_page_key == background_page
                      && bg_generation == bus.generation))
                    fetch_background(bus);
                bgColor = (bg_low >> (7 ^ x_fine)) & 1;
                bgColor |= ((bg_high >> (7 ^ x_fine)) & 1) << 1;
                //flag used to calculate final pixel with the sprite pixel
                bgOpaque = bgColor;
                bgColor |= bg_attribute << 2;
            }
        }
        //Increment/wrap coarse X
        if (x_fine == 7)
            increment_coarse_x();
    }

    if (!render) {
        if (sprite_zero_check && bgOpaque && sprite_zero_opaque(bus, x, y))
            is_sprite_zero_hit = true;
    } else if (is_showing_sprites && (!is_hiding_edge_sprites || x >= 8)) {
        // FastNES: nes-py's loop over the scanline's sprites, read from the line it draws
        // (`draw_sprite_line`): the first opaque sprite at x, else whether any was there
        if (!(line_valid && line_scanline == scanline && line_generation == bus.generation))
            update_sprite_line(bus);
        const NES_Byte state = line_state[x];
        if (state == LINE_OPAQUE) {
            sprColor = line_color[x];
            spriteForeground = line_foreground[x];
            //Sprite-0 hit detection
            if (!is_sprite_zero_hit && is_showing_background && line_sprite[x] == 0 && bgOpaque)
                is_sprite_zero_hit = true;
        } else if (state == LINE_TRANSPARENT) {
            sprOpaque = false;
        }
    }
    // get the address of the color in the palette
    NES_Byte paletteAddr = bgColor;
    if ( (!bgOpaque && sprOpaque) || (bgOpaque && sprOpaque && spriteForeground) )
        paletteAddr = sprColor;
    else if (!bgOpaque && !sprOpaque)
        paletteAddr = 0;
    // lookup the pixel in the palette and write it to the screen
    if (render)
        screen[y][x] = PALETTE[bus.read_palette(paletteAddr)];
}

inline __attribute__((always_inline)) void PPU::cycle_inline(PictureBus& bus) {
    switch (pipeline_state) {
        case PRE_RENDER: {
            if (cycles == 1)
                is_vblank = is_sprite_zero_hit = false;
            else if (cycles == SCANLINE_VISIBLE_DOTS + 2 && is_showing_background && is_showing_sprites) {
                // Set bits related to horizontal position
                data_address &= ~0x41f; //Unset horizontal bits
                data_address |= temp_address & 0x41f; //Copy
            }
            else if (cycles > 280 && cycles <= 304 && is_showing_background && is_showing_sprites) {
                // Set vertical bits
                data_address &= ~0x7be0; //Unset bits related to horizontal
                data_address |= temp_address & 0x7be0; //Copy
            }
            // if (cycles > 257 && cycles < 320)
            //     sprite_data_address = 0;
            // if rendering is on, every other frame is one cycle shorter
            if (cycles >= SCANLINE_END_CYCLE - (!is_even_frame && is_showing_background && is_showing_sprites)) {
                pipeline_state = RENDER;
                cycles = scanline = 0;
            }
            break;
        }
        case RENDER: {
            if (cycles > 0 && cycles <= SCANLINE_VISIBLE_DOTS) {
                pixel(bus);
            }
            else if (cycles == SCANLINE_VISIBLE_DOTS + 1 && is_showing_background) {
                //Shamelessly copied from nesdev wiki
                if ((data_address & 0x7000) != 0x7000) {  // if fine Y < 7
                    // increment fine Y
                    data_address += 0x1000;
                } else {
                    // fine Y = 0
                    data_address &= ~0x7000;
                    // let y = coarse Y
                    int y = (data_address & 0x03E0) >> 5;
                    if (y == 29) {
                        // coarse Y = 0
                        y = 0;
                        // switch vertical nametable
                        data_address ^= 0x0800;
                    } else if (y == 31) {
                        // coarse Y = 0, nametable not switched
                        y = 0;
                    } else {
                        // increment coarse Y
                        y += 1;
                    }
                    // put coarse Y back into data_address
                    data_address = (data_address & ~0x03E0) | (y << 5);
                }
            }
            else if (cycles == SCANLINE_VISIBLE_DOTS + 2 && is_showing_background && is_showing_sprites) {
                // Copy bits related to horizontal position
                data_address &= ~0x41f;
                data_address |= temp_address & 0x41f;
            }

//                 if (cycles > 257 && cycles < 320)
//                     sprite_data_address = 0;

            if (cycles >= SCANLINE_END_CYCLE) {
                //Find and index sprites that are on the next Scanline
                //This isn't where/when this indexing, actually copying in 2C02 is done
                //but (I think) it shouldn't hurt any games if this is done here

                scanline_sprites.resize(0);
                line_valid = false;

                int range = 8;
                if (is_long_sprites)
                    range = 16;

                NES_Byte j = 0;
                for (NES_Byte i = sprite_data_address / 4; i < 64; ++i) {
                    auto diff = (scanline - sprite_memory[i * 4]);
                    if (0 <= diff && diff < range) {
                        scanline_sprites.push_back(i);
                        if (++j >= 8)
                            break;
                    }
                }

                ++scanline;
                cycles = 0;
            }

            if (scanline >= VISIBLE_SCANLINES)
                pipeline_state = POST_RENDER;

            break;
        }
        case POST_RENDER: {
            if (cycles >= SCANLINE_END_CYCLE) {
                ++scanline;
                cycles = 0;
                pipeline_state = VERTICAL_BLANK;
            }
            break;
        }
        case VERTICAL_BLANK: {
            if (cycles == 1 && scanline == VISIBLE_SCANLINES + 1) {
                is_vblank = true;
                if (is_interrupting) cpu->interrupt(*main_bus, CPU::NMI_INTERRUPT);
            }

            if (cycles >= SCANLINE_END_CYCLE) {
                ++scanline;
                cycles = 0;
            }

            if (scanline >= FRAME_END_SCANLINE) {
                pipeline_state = PRE_RENDER;
                scanline = 0;
                is_even_frame = !is_even_frame;
                // is_vblank = false;
            }

            break;
        }
        default:
            LOG(Error) << "Well, this shouldn't have happened." << std::endl;
    }
    ++cycles;
}

void PPU::cycle(PictureBus& bus) { cycle_inline(bus); }

void PPU::run(PictureBus& bus, int n) {
    // FastNES: nes-py's cycles, with the stretches where its `cycle` does nothing but count
    // skipped in one addition, and the visible dots of a scanline in one loop (nothing outside
    // the PPU can change its state while it runs).
    while (n > 0) {
        int span = 0;
        switch (pipeline_state) {
            case RENDER:
                if (cycles > 0 && cycles <= SCANLINE_VISIBLE_DOTS) {
                    span = std::min(n, SCANLINE_VISIBLE_DOTS + 1 - cycles);
                    pixels(bus, span);
                    n -= span;
                    continue;
                }
                if (cycles > SCANLINE_VISIBLE_DOTS + 2 && cycles < SCANLINE_END_CYCLE)
                    span = SCANLINE_END_CYCLE - cycles;
                break;
            case POST_RENDER:
                if (cycles < SCANLINE_END_CYCLE)
                    span = SCANLINE_END_CYCLE - cycles;
                break;
            case VERTICAL_BLANK:
                if (cycles > 1 && cycles < SCANLINE_END_CYCLE)
                    span = SCANLINE_END_CYCLE - cycles;
                break;
            case PRE_RENDER:
                if (cycles > 1 && cycles < SCANLINE_VISIBLE_DOTS + 2)
                    span = SCANLINE_VISIBLE_DOTS + 2 - cycles;
                else if (cycles > SCANLINE_VISIBLE_DOTS + 2 && cycles <= 280)
                    span = 281 - cycles;
                else if (cycles > 304 && cycles < SCANLINE_END_CYCLE - 1)
                    span = SCANLINE_END_CYCLE - 1 - cycles;
                break;
        }
        if (span > 0) {
            span = std::min(n, span);
            cycles += span;
            n -= span;
        } else {
            cycle_inline(bus);
            --n;
        }
    }
}

void PPU::pixels(PictureBus& bus, int n) {
    const bool sprite_zero_possible = !is_sprite_zero_hit && is_showing_sprites
        && is_showing_background && !scanline_sprites.empty() && scanline_sprites[0] == 0;
    if (!render && !sprite_zero_possible) {
        // a dark frame with no sprite-0 test to make: only the coarse X scroll moves
        if (is_showing_background) {
            int x = cycles - 1, end = x + n;
            for (x += 7 - (fine_x_scroll + x) % 8; x < end; x += 8)
                increment_coarse_x();
        }
        cycles += n;
        return;
    }
    for (int i = 0; i < n; i++) {
        pixel(bus);
        ++cycles;
    }
}

inline void PPU::increment_coarse_x() {
    // if coarse X == 31
    if ((data_address & 0x001F) == 31) {
        // coarse X = 0
        data_address &= ~0x001F;
        // switch horizontal nametable
        data_address ^= 0x0400;
    }
    else
        // increment coarse X
        data_address += 1;
}

void PPU::update_sprite_line(PictureBus& bus) {
    std::memset(line_state, LINE_NONE, sizeof(line_state));
    const int y = scanline;
    for (auto i : scanline_sprites) {
        NES_Byte spr_x =     sprite_memory[i * 4 + 3];

        NES_Byte spr_y     = sprite_memory[i * 4 + 0] + 1,
             tile      = sprite_memory[i * 4 + 1],
             attribute = sprite_memory[i * 4 + 2];

        int length = (is_long_sprites) ? 16 : 8;

        int y_offset = (y - spr_y) % length;

        if ((attribute & 0x80) != 0) //IF flipping vertically
            y_offset ^= (length - 1);

        NES_Address address = 0;

        if (!is_long_sprites) {
            address = tile * 16 + y_offset;
            if (sprite_page == HIGH) address += 0x1000;
        }
        // 8 x 16 sprites
        else {
            //bit-3 is one if it is the bottom tile of the sprite, multiply by two to get the next pattern
            y_offset = (y_offset & 7) | ((y_offset & 8) << 1);
            address = (tile >> 1) * 32 + y_offset;
            address |= (tile & 1) << 12; //Bank 0x1000 if bit-0 is high
        }
        const NES_Byte low = bus.read(address), high = bus.read(address + 8);

        for (int x = spr_x; x < spr_x + 8 && x < SCANLINE_VISIBLE_DOTS; x++) {
            if (line_state[x] == LINE_OPAQUE)  // an earlier sprite is drawn here
                continue;
            int x_shift = (x - spr_x) % 8;
            if ((attribute & 0x40) == 0) //If NOT flipping horizontally
                x_shift ^= 7;
            NES_Byte sprColor = (low >> (x_shift)) & 1; //bit 0 of palette entry
            sprColor |= ((high >> (x_shift)) & 1) << 1; //bit 1
            if (!sprColor) {
                line_state[x] = LINE_TRANSPARENT;
                continue;
            }
            sprColor |= 0x10; //Select sprite palette
            sprColor |= (attribute & 0x3) << 2; //bits 2-3
            line_state[x] = LINE_OPAQUE;
            line_color[x] = sprColor;
            line_foreground[x] = !(attribute & 0x20);
            line_sprite[x] = i;
        }
    }
    line_valid = true;
    line_scanline = scanline;
    line_generation = bus.generation;
}

void PPU::fetch_background(PictureBus& bus) {
    // nes-py's reads, as in its pixel loop
    // fetch tile: mask off fine y
    auto address = 0x2000 | (data_address & 0x0FFF);
    NES_Byte tile = bus.read(address);
    // fetch pattern: each pattern occupies 16 bytes; add fine y; the page
    address = (tile * 16) + ((data_address >> 12/*y % 8*/) & 0x7);
    address |= background_page << 12;
    bg_low = bus.read(address);
    bg_high = bus.read(address + 8);
    // fetch attribute and calculate higher two bits of palette
    address = 0x23C0 | (data_address & 0x0C00) | ((data_address >> 4) & 0x38)
                | ((data_address >> 2) & 0x07);
    auto attribute = bus.read(address);
    int shift = ((data_address >> 4) & 4) | (data_address & 2);
    bg_attribute = (attribute >> shift) & 0x3;
    bg_cached = true;
    bg_key = data_address;
    bg_page_key = background_page;
    bg_generation = bus.generation;
}

bool PPU::sprite_zero_opaque(PictureBus& bus, int x, int y) {
    // nes-py's sprite loop for its first sprite (sprite 0), up to the opacity test
    NES_Byte spr_x = sprite_memory[3];
    if (0 > x - spr_x || x - spr_x >= 8)
        return false;
    NES_Byte spr_y = sprite_memory[0] + 1, tile = sprite_memory[1], attribute = sprite_memory[2];
    int length = (is_long_sprites) ? 16 : 8;
    int x_shift = (x - spr_x) % 8, y_offset = (y - spr_y) % length;
    if ((attribute & 0x40) == 0)
        x_shift ^= 7;
    if ((attribute & 0x80) != 0)
        y_offset ^= (length - 1);
    NES_Address address = 0;
    if (!is_long_sprites) {
        address = tile * 16 + y_offset;
        if (sprite_page == HIGH) address += 0x1000;
    } else {
        y_offset = (y_offset & 7) | ((y_offset & 8) << 1);
        address = (tile >> 1) * 32 + y_offset;
        address |= (tile & 1) << 12;
    }
    NES_Byte color = (bus.read(address) >> (x_shift)) & 1;
    color |= ((bus.read(address + 8) >> (x_shift)) & 1) << 1;
    return color != 0;
}

void PPU::do_DMA(const NES_Byte* page_ptr) {
    line_valid = false;
    std::memcpy(
        sprite_memory.data() + sprite_data_address,
        page_ptr,
        256 - sprite_data_address
    );
    if (sprite_data_address)
        std::memcpy(
            sprite_memory.data(),
            page_ptr + (256 - sprite_data_address),
            sprite_data_address
        );
}

void PPU::control(NES_Byte ctrl) {
    line_valid = false;
    is_interrupting = ctrl & 0x80;
    is_long_sprites = ctrl & 0x20;
    background_page = static_cast<CharacterPage>(!!(ctrl & 0x10));
    sprite_page = static_cast<CharacterPage>(!!(ctrl & 0x8));
    if (ctrl & 0x4)
        data_address_increment = 0x20;
    else
        data_address_increment = 1;
    // baseNameTable = (ctrl & 0x3) * 0x400 + 0x2000;
    // Set the nametable in the temp address, this will be reflected in the
    // data address during rendering
    // v-- Unset
    temp_address &= ~0xc00;
    // v-- Set according to ctrl bits
    temp_address |= (ctrl & 0x3) << 10;
}

void PPU::set_mask(NES_Byte mask) {
    is_hiding_edge_background = !(mask & 0x2);
    is_hiding_edge_sprites = !(mask & 0x4);
    is_showing_background = mask & 0x8;
    is_showing_sprites = mask & 0x10;
}

NES_Byte PPU::get_status() {
    NES_Byte status = is_sprite_zero_hit << 6 | is_vblank << 7;
    // data_address = 0;
    is_vblank = false;
    is_first_write = true;
    return status;
}

void PPU::set_data_address(NES_Byte address) {
    // data_address = ((data_address << 8) & 0xff00) | address;
    if (is_first_write) {
        // Unset the upper byte
        temp_address &= ~0xff00;
        temp_address |= (address & 0x3f) << 8;
        is_first_write = false;
    } else {
        // Unset the lower byte;
        temp_address &= ~0xff;
        temp_address |= address;
        data_address = temp_address;
        is_first_write = true;
    }
}

NES_Byte PPU::get_data(PictureBus& bus) {
    auto data = bus.read(data_address);
    data_address += data_address_increment;
    // Reads are delayed by one byte/read when address is in this range
    if (data_address < 0x3f00)
        // Return from the data buffer and store the current value in the buffer
        std::swap(data, data_buffer);
    return data;
}

void PPU::set_data(PictureBus& bus, NES_Byte data) {
    bus.write(data_address, data);
    data_address += data_address_increment;
}

void PPU::set_scroll(NES_Byte scroll) {
    if (is_first_write) {
        temp_address &= ~0x1f;
        temp_address |= (scroll >> 3) & 0x1f;
        fine_x_scroll = scroll & 0x7;
        is_first_write = false;
    } else {
        temp_address &= ~0x73e0;
        temp_address |= ((scroll & 0x7) << 12) | ((scroll & 0xf8) << 2);
        is_first_write = true;
    }
}

}  // namespace FastNES
