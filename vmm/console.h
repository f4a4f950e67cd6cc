/* SPDX-License-Identifier: MIT */
/*
 * The host side of the serial console: guest output to stdout, host stdin to
 * the guest. A terminal is put in raw mode (restored at exit) and Ctrl-A x
 * quits. Output never blocks a vCPU: when stdout cannot take more, bytes are
 * dropped and counted.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"

struct vm;
struct serial;

struct console {
	struct vm *vm;
	struct serial *serial;
	struct ev_handler in;	 /* stdin */
	struct ev_handler space; /* eventfd: the guest drained the RX FIFO */
	bool tty;
	bool escape; /* saw Ctrl-A */
	bool eof;
	uint8_t pending[64]; /* read from stdin, not yet in the FIFO */
	unsigned npending, pending_off;
	uint64_t out_dropped;
};

/* Hook stdin/stdout to the serial device; registers on vm->ev. Dies on error. */
void console_init(struct console *c, struct vm *vm, struct serial *s);
/* serial_ops callbacks */
int console_tx(void *opaque, uint8_t byte);
void console_rx_space(void *opaque);
/* Restore the terminal (also registered with atexit). */
void console_restore(void);

#endif
