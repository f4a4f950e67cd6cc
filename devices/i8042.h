/* SPDX-License-Identifier: MIT */
/*
 * The part of the i8042 keyboard controller a guest needs: the reset line.
 * Command 0xFE on port 0x64 pulses reset; status reads say "nothing to read,
 * ready for input" so Linux's probe moves on. No keyboard, no mouse.
 */
#ifndef DEVICES_I8042_H
#define DEVICES_I8042_H

#include "bus.h"

struct i8042 {
	void (*reset)(void *opaque); /* the guest asked for a reboot */
	void *opaque;
	uint8_t last_cmd;
};

/* Register i8042_data_ops at 0x60 and i8042_cmd_ops at 0x64, both 1 port. */
extern const struct bus_ops i8042_data_ops;
extern const struct bus_ops i8042_cmd_ops;

#define I8042_CMD_RESET 0xfe

#endif
