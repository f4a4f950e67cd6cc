// SPDX-License-Identifier: MIT
#include "i8042.h"

#include <string.h>

static void data_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
}

static void data_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	(void)dev;
	(void)off;
	(void)data;
	(void)len; /* no keyboard behind it */
}

static void cmd_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	(void)dev;
	(void)off;
	memset(data, 0,
	       len); /* status: output buffer empty, input buffer empty */
}

static void cmd_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	struct i8042 *k = dev;

	(void)off;
	(void)len;
	k->last_cmd = *(const uint8_t *)data;
	if (k->last_cmd == I8042_CMD_RESET && k->reset)
		k->reset(k->opaque);
}

const struct bus_ops i8042_data_ops = {.read = data_read, .write = data_write};
const struct bus_ops i8042_cmd_ops = {.read = cmd_read, .write = cmd_write};
