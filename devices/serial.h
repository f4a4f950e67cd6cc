/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART (COM1, 8 ports at 0x3f8), without KVM: the VMM registers
 * serial_bus_ops on its port bus and wires the ops below to the irqchip and
 * the host terminal.
 *
 * Model:
 * - Transmission is instantaneous: THR and the TX FIFO are always empty, LSR
 *   always has THRE|TEMT. A THR write hands the byte to ops->tx at once (or,
 *   in loopback, to the RX FIFO). Line speed, LCR framing and break are
 *   stored and read back but change nothing; any divisor, 0 included, is
 *   accepted. Reset divisor is 1 (115200 baud): Linux earlycon without a baud
 *   option derives the speed from the latch and divides by it.
 * - RX holds 16 bytes with the FIFO enabled and 1 byte (16450 mode) without.
 *   serial_rx() takes only what fits and never overruns; LSR.OE is only set
 *   by a loopback THR write into a full RX buffer (counted in rx_overrun).
 *   Reading an empty RBR returns 0.
 * - Interrupt identification (IIR), highest priority first:
 *   0x06 receiver line status (IER.ELSI and LSR.OE; cleared by reading LSR),
 *   0x04 RX data at or above the FIFO trigger level (IER.ERBFI),
 *   0x0C character timeout: the simplification is that it fires at once when
 *        0 < count < trigger, so any byte present raises an interrupt,
 *   0x02 THR empty (IER.ETBEI; armed when ETBEI goes 0->1 and after every
 *        THR write since THR empties at once; cleared by an IIR read that
 *        reports it, by a THR write, or by clearing ETBEI),
 *   0x00 modem status (IER.EDSSI and a delta bit in MSR; cleared by reading
 *        MSR).
 *   Bits 7:6 of IIR read 0xC0 when the FIFO is enabled.
 * - The IRQ line is the pending interrupt gated like a PC's COM port:
 *   MCR.OUT2 must be 1 and loopback off (in loopback the OUT2 pin is
 *   forced inactive, which disables the PC's IRQ buffer). IIR still reports
 *   the source, so polling in loopback works. A THR write with ETBEI set
 *   gives a low-then-high pair of ops->irq calls: a pulse, which an
 *   edge-triggered pin needs to see every THRE interrupt.
 * - Loopback (MCR.LOOP): TX goes to the RX FIFO, nothing to the host, host
 *   input is refused (serial_rx_space() is 0), and MSR mirrors MCR:
 *   CTS<-RTS, DSR<-DTR, RI<-OUT1, DCD<-OUT2. Outside loopback MSR reports
 *   DCD|DSR|CTS. Changes set the MSR delta bits (TERI on RI falling).
 * - Writes to LSR and MSR are ignored. IER keeps bits 3:0, MCR bits 4:0.
 * - Accesses wider than 1 byte act on the first byte only; a read fills the
 *   other bytes with 0xff. Offsets >= 8 read 0xff and ignore writes.
 *
 * Threads and locks: the bus handlers run on vCPU threads and serial_rx()
 * on the event loop thread; one mutex in struct serial protects all state.
 * ops->irq and ops->tx are called with that mutex held, so line changes and
 * output bytes reach the host in the order the state changed: they must not
 * block and must not call serial_*(). ops->rx_space is called without the
 * mutex (on the thread that made room, usually a vCPU thread) and may call
 * serial_rx() or wake the event loop.
 */
#ifndef DEVICES_SERIAL_H
#define DEVICES_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ	 4
#define SERIAL_NR_PORTS	 8
#define SERIAL_FIFO_SIZE 16

struct serial_ops {
	/* Drive the IRQ line: 1 raised, 0 lowered; called only on changes. */
	void (*irq)(void *opaque, int level);
	/* Host output: 0, or -1 if dropped (host not reading). Must not block. */
	int (*tx)(void *opaque, uint8_t byte);
	/* serial_rx_space() went from 0 to non-zero: feed more input. */
	void (*rx_space)(void *opaque);
};

struct serial_stats {
	uint64_t tx_bytes;   /* handed to ops->tx and accepted */
	uint64_t tx_dropped; /* ops->tx returned -1 */
	uint64_t rx_bytes;   /* accepted by serial_rx() */
	uint64_t rx_overrun; /* loopback bytes lost to a full RX FIFO */
};

struct serial {
	pthread_mutex_t lock;
	const struct serial_ops *ops;
	void *opaque;

	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	int thr_ipending; /* THRE interrupt armed */
	int irq_level;	  /* last level given to ops->irq */
	struct serial_stats stats;
};

/* Reset state; ops members may be NULL. */
void serial_init(struct serial *s, const struct serial_ops *ops, void *opaque);
void serial_destroy(struct serial *s);

/* dev = struct serial *, 8-port window (offset 0..7). */
extern const struct bus_ops serial_bus_ops;

/* Host input: bytes accepted (what fits in the RX FIFO); never blocks. */
size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len);
/* How many bytes serial_rx() would accept now. */
size_t serial_rx_space(struct serial *s);
void serial_get_stats(struct serial *s, struct serial_stats *st);

#endif
