// SPDX-License-Identifier: MIT
/* Unit tests for the 16550A model, driven through serial_bus_ops. */
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "serial.h"
#include "util.h"

#define THR 0
#define RBR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

/* What the fake host saw. */
struct host {
	int levels[4096];
	size_t nr_irq;
	int level;
	uint8_t out[4096];
	size_t nr_out;
	int tx_fail;
	int rx_space_calls;
	struct serial s;
};

static void host_irq(void *opaque, int level)
{
	struct host *h = opaque;

	/* Only changes are reported. */
	assert_int_not_equal(level, h->level);
	if (h->nr_irq < 4096)
		h->levels[h->nr_irq++] = level;
	h->level = level;
}

static int host_tx(void *opaque, uint8_t byte)
{
	struct host *h = opaque;

	if (h->tx_fail)
		return -1;
	if (h->nr_out < sizeof(h->out))
		h->out[h->nr_out++] = byte;
	return 0;
}

static void host_rx_space(void *opaque)
{
	struct host *h = opaque;

	h->rx_space_calls++;
}

static const struct serial_ops host_ops = {
    .irq = host_irq,
    .tx = host_tx,
    .rx_space = host_rx_space,
};

static int setup(void **state)
{
	struct host *h = test_calloc(1, sizeof(*h));

	serial_init(&h->s, &host_ops, h);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct host *h = *state;

	serial_destroy(&h->s);
	test_free(h);
	return 0;
}

static uint8_t rd(struct host *h, uint64_t off)
{
	uint8_t v = 0x5a;

	serial_bus_ops.read(&h->s, off, &v, 1);
	return v;
}

static void wr(struct host *h, uint64_t off, uint8_t v)
{
	serial_bus_ops.write(&h->s, off, &v, 1);
}

static void test_reset_state(void **state)
{
	struct host *h = *state;

	assert_int_equal(rd(h, IER), 0x00);
	assert_int_equal(rd(h, IIR), 0x01);
	assert_int_equal(rd(h, LCR), 0x00);
	assert_int_equal(rd(h, MCR), 0x00);
	assert_int_equal(rd(h, LSR), 0x60);
	assert_int_equal(rd(h, MSR), 0xb0);
	assert_int_equal(rd(h, SCR), 0x00);
	assert_int_equal(rd(h, RBR), 0x00);
	wr(h, LCR, 0x80);
	assert_int_equal(rd(h, DLL), 0x01);
	assert_int_equal(rd(h, DLM), 0x00);
	assert_int_equal(serial_rx_space(&h->s), 1);
	assert_int_equal(h->nr_irq, 0);
}

static void test_divisor_round_trip(void **state)
{
	struct host *h = *state;
	static const uint16_t div[] = {0, 1, 3, 12, 0x1234, 0xffff};

	wr(h, IER, 0x05);
	for (size_t i = 0; i < ARRAY_SIZE(div); i++) {
		wr(h, LCR, 0x83);
		wr(h, DLL, div[i] & 0xff);
		wr(h, DLM, div[i] >> 8);
		assert_int_equal(rd(h, DLL), div[i] & 0xff);
		assert_int_equal(rd(h, DLM), div[i] >> 8);
		assert_int_equal(rd(h, LCR), 0x83);
		/* DLAB off: IER and THR are back, untouched by the latch. */
		wr(h, LCR, 0x03);
		assert_int_equal(rd(h, IER), 0x05);
		wr(h, THR, 'a' + i);
	}
	assert_int_equal(h->nr_out, ARRAY_SIZE(div));
	assert_memory_equal(h->out, "abcdef", ARRAY_SIZE(div));
	/* Divisor writes never reached the host. */
	wr(h, LCR, 0x80);
	assert_int_equal(rd(h, DLL), 0xff);
	assert_int_equal(rd(h, DLM), 0xff);
}

static void test_lcr_scr_mcr_readback(void **state)
{
	struct host *h = *state;

	for (unsigned int v = 0; v < 256; v++) {
		wr(h, SCR, v);
		assert_int_equal(rd(h, SCR), v);
		wr(h, LCR, v & 0x7f);
		assert_int_equal(rd(h, LCR), v & 0x7f);
		wr(h, MCR, v & ~0x10); /* loopback tested apart */
		assert_int_equal(rd(h, MCR), v & 0x0f);
		wr(h, IER, v);
		assert_int_equal(rd(h, IER), v & 0x0f);
	}
	wr(h, LCR, 0xff);
	assert_int_equal(rd(h, LCR), 0xff);
}

static void test_tx_stats(void **state)
{
	struct host *h = *state;
	struct serial_stats st;
	const char *msg = "hello\n";

	for (size_t i = 0; msg[i]; i++)
		wr(h, THR, msg[i]);
	assert_int_equal(h->nr_out, 6);
	assert_memory_equal(h->out, msg, 6);
	serial_get_stats(&h->s, &st);
	assert_int_equal(st.tx_bytes, 6);
	assert_int_equal(st.tx_dropped, 0);
	assert_int_equal(st.rx_bytes, 0);
	assert_int_equal(st.rx_overrun, 0);
	assert_int_equal(rd(h, LSR), 0x60); /* always empty */
}

static void test_tx_dropped(void **state)
{
	struct host *h = *state;
	struct serial_stats st;

	wr(h, THR, 'x');
	h->tx_fail = 1;
	for (int i = 0; i < 1000; i++)
		wr(h, THR, 'y');
	h->tx_fail = 0;
	wr(h, THR, 'z');
	serial_get_stats(&h->s, &st);
	assert_int_equal(st.tx_bytes, 2);
	assert_int_equal(st.tx_dropped, 1000);
	assert_int_equal(h->nr_out, 2);
	assert_memory_equal(h->out, "xz", 2);
	assert_int_equal(rd(h, LSR), 0x60);
}

static void test_no_ops(void **state)
{
	struct serial s;
	struct serial_stats st;
	uint8_t v = 'q';
	(void)state;

	serial_init(&s, NULL, NULL);
	serial_bus_ops.write(&s, MCR, &(uint8_t){0x08}, 1);
	serial_bus_ops.write(&s, IER, &(uint8_t){0x0f}, 1);
	serial_bus_ops.write(&s, THR, &v, 1);
	assert_int_equal(serial_rx(&s, &v, 1), 1);
	serial_bus_ops.read(&s, RBR, &v, 1);
	assert_int_equal(v, 'q');
	serial_get_stats(&s, &st);
	assert_int_equal(st.tx_dropped, 1);
	assert_int_equal(st.rx_bytes, 1);
	serial_destroy(&s);
}

static void test_thre_interrupt(void **state)
{
	struct host *h = *state;

	wr(h, MCR, 0x08); /* OUT2 */
	assert_int_equal(h->nr_irq, 0);
	/* Enabling ETBEI with THR empty raises THRE at once. */
	wr(h, IER, 0x02);
	assert_int_equal(h->nr_irq, 1);
	assert_int_equal(h->levels[0], 1);
	/* Re-writing the same IER does not re-arm it once acknowledged. */
	assert_int_equal(rd(h, IIR), 0x02);
	assert_int_equal(h->nr_irq, 2);
	assert_int_equal(h->levels[1], 0);
	assert_int_equal(rd(h, IIR), 0x01);
	wr(h, IER, 0x02);
	assert_int_equal(rd(h, IIR), 0x01);
	assert_int_equal(h->nr_irq, 2);
	/* A THR write: THR empties at once, so THRE comes back (a new edge). */
	wr(h, THR, 'a');
	assert_int_equal(h->nr_irq, 3);
	assert_int_equal(h->levels[2], 1);
	/* Another THR write while pending: low then high. */
	wr(h, THR, 'b');
	assert_int_equal(h->nr_irq, 5);
	assert_int_equal(h->levels[3], 0);
	assert_int_equal(h->levels[4], 1);
	/* Clearing ETBEI drops it. */
	wr(h, IER, 0x00);
	assert_int_equal(h->nr_irq, 6);
	assert_int_equal(h->levels[5], 0);
	assert_int_equal(rd(h, IIR), 0x01);
	/* ETBEI 0->1 re-arms it; another 0->1 after ack also. */
	wr(h, IER, 0x02);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, IIR), 0x02);
	assert_int_equal(h->level, 0);
	wr(h, IER, 0x00);
	wr(h, IER, 0x02);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, IIR), 0x02);
	assert_int_equal(h->level, 0);
	assert_int_equal(h->nr_out, 2);
}

/* Linux's startup test: ETBEI on, LSR says TEMT, IIR must report THRI. */
static void test_thre_linux_txen_probe(void **state)
{
	struct host *h = *state;

	wr(h, IER, 0x02);
	assert_int_equal(rd(h, LSR) & 0x40, 0x40);
	assert_int_equal(rd(h, IIR), 0x02);
	wr(h, IER, 0x00);
	assert_int_equal(rd(h, IIR), 0x01);
	assert_int_equal(h->nr_irq, 0); /* OUT2 was never set */
}

static void test_rx_data_interrupt(void **state)
{
	struct host *h = *state;
	struct serial_stats st;

	wr(h, MCR, 0x0b);
	wr(h, IER, 0x01);
	assert_int_equal(h->nr_irq, 0);
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"k", 1), 1);
	assert_int_equal(h->nr_irq, 1);
	assert_int_equal(h->levels[0], 1);
	assert_int_equal(rd(h, IIR), 0x04); /* 16450 mode, trigger 1 */
	assert_int_equal(rd(h, LSR), 0x61);
	/* Non-FIFO mode holds one byte. */
	assert_int_equal(serial_rx_space(&h->s), 0);
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"l", 1), 0);
	assert_int_equal(rd(h, RBR), 'k');
	assert_int_equal(h->nr_irq, 2);
	assert_int_equal(h->levels[1], 0);
	assert_int_equal(h->rx_space_calls, 1);
	assert_int_equal(rd(h, IIR), 0x01);
	assert_int_equal(rd(h, LSR), 0x60);
	assert_int_equal(rd(h, RBR), 0x00); /* empty */
	serial_get_stats(&h->s, &st);
	assert_int_equal(st.rx_bytes, 1);
	assert_int_equal(st.rx_overrun, 0);
}

static void test_rx_fifo_trigger(void **state)
{
	struct host *h = *state;

	wr(h, MCR, 0x08);
	wr(h, IER, 0x01);
	wr(h, FCR, 0x81); /* FIFO on, trigger 8 */
	assert_int_equal(rd(h, IIR), 0xc1);
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"0123456", 7), 7);
	/* Below the trigger: the (immediate) character timeout. */
	assert_int_equal(rd(h, IIR), 0xcc);
	assert_int_equal(h->level, 1);
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"7", 1), 1);
	assert_int_equal(rd(h, IIR), 0xc4);
	for (int i = 0; i < 8; i++)
		assert_int_equal(rd(h, RBR), '0' + i);
	assert_int_equal(rd(h, IIR), 0xc1);
	assert_int_equal(h->level, 0);
	assert_int_equal(h->nr_irq, 2);
	/* Trigger 14 with 14 bytes, then 1 with 1 byte. */
	wr(h, FCR, 0xc1);
	assert_int_equal(
	    serial_rx(&h->s, (const uint8_t *)"abcdefghijklmn", 14), 14);
	assert_int_equal(rd(h, IIR), 0xc4);
	wr(h, FCR, 0x43); /* trigger 4, clear RX */
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"abc", 3), 3);
	assert_int_equal(rd(h, IIR), 0xcc);
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"d", 1), 1);
	assert_int_equal(rd(h, IIR), 0xc4);
	wr(h, FCR, 0x03); /* trigger 1, clear RX */
	assert_int_equal(rd(h, IIR), 0xc1);
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"z", 1), 1);
	assert_int_equal(rd(h, IIR), 0xc4);
}

static void test_rx_fifo_bound(void **state)
{
	struct host *h = *state;
	uint8_t buf[40];
	struct serial_stats st;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	wr(h, FCR, 0x01);
	assert_int_equal(serial_rx_space(&h->s), 16);
	assert_int_equal(serial_rx(&h->s, buf, 10), 10);
	assert_int_equal(serial_rx_space(&h->s), 6);
	assert_int_equal(serial_rx(&h->s, buf + 10, 30), 6);
	assert_int_equal(serial_rx_space(&h->s), 0);
	assert_int_equal(serial_rx(&h->s, buf + 16, 24), 0);
	assert_int_equal(rd(h, LSR), 0x61); /* no OE: input was refused */
	assert_int_equal(h->rx_space_calls, 0);
	assert_int_equal(rd(h, RBR), 0);
	assert_int_equal(h->rx_space_calls, 1);
	assert_int_equal(rd(h, RBR), 1);
	assert_int_equal(h->rx_space_calls, 1); /* only from full */
	assert_int_equal(serial_rx(&h->s, buf + 16, 24), 2);
	for (int i = 2; i < 18; i++)
		assert_int_equal(rd(h, RBR), i);
	assert_int_equal(h->rx_space_calls, 2);
	assert_int_equal(rd(h, LSR), 0x60);
	serial_get_stats(&h->s, &st);
	assert_int_equal(st.rx_bytes, 18);
	assert_int_equal(st.rx_overrun, 0);
}

static void test_fifo_clear(void **state)
{
	struct host *h = *state;

	wr(h, MCR, 0x08);
	wr(h, IER, 0x01);
	wr(h, FCR, 0x01);
	assert_int_equal(
	    serial_rx(&h->s, (const uint8_t *)"0123456789abcdefX", 17), 16);
	assert_int_equal(h->level, 1);
	wr(h, FCR, 0x05); /* clear TX only: RX untouched */
	assert_int_equal(rd(h, LSR), 0x61);
	assert_int_equal(h->rx_space_calls, 0);
	wr(h, FCR, 0x03); /* clear RX */
	assert_int_equal(rd(h, LSR), 0x60);
	assert_int_equal(rd(h, IIR), 0xc1);
	assert_int_equal(h->level, 0);
	assert_int_equal(h->rx_space_calls, 1);
	assert_int_equal(serial_rx_space(&h->s), 16);
	/* Turning the FIFO off flushes too; back to one byte. */
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"ab", 2), 2);
	wr(h, FCR, 0x00);
	assert_int_equal(rd(h, LSR), 0x60);
	assert_int_equal(rd(h, IIR), 0x01);
	assert_int_equal(serial_rx_space(&h->s), 1);
	/* FCR bits other than enable read back nowhere; IIR top bits 0. */
	wr(h, FCR, 0xc6);
	assert_int_equal(rd(h, IIR), 0x01);
}

static void test_loopback(void **state)
{
	struct host *h = *state;
	struct serial_stats st;

	wr(h, FCR, 0x01);
	wr(h, MCR, 0x10); /* loop, all outputs off */
	/* DCD, DSR, CTS fell: their deltas are set. */
	assert_int_equal(rd(h, MSR), 0x0b);
	assert_int_equal(rd(h, MSR), 0x00);
	/* Linux's probe: LOOP|OUT2|RTS must read DCD|CTS. */
	wr(h, MCR, 0x1a);
	assert_int_equal(rd(h, MSR) & 0xf0, 0x90);
	wr(h, MCR, 0x15); /* DTR, OUT1 */
	assert_int_equal(rd(h, MSR), 0x60 | 0x01 | 0x02 | 0x08);
	wr(h, MCR, 0x10); /* RI falls: TERI; DSR falls: DDSR */
	assert_int_equal(rd(h, MSR), 0x06);
	wr(h, MCR, 0x1f);
	assert_int_equal(rd(h, MSR), 0xf0 | 0x0b);
	assert_int_equal(rd(h, MCR), 0x1f);

	/* Host input is refused in loopback. */
	assert_int_equal(serial_rx_space(&h->s), 0);
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"h", 1), 0);
	/* TX goes to RX, not to the host. */
	wr(h, THR, 'p');
	wr(h, THR, 'q');
	assert_int_equal(h->nr_out, 0);
	assert_int_equal(rd(h, LSR), 0x61);
	assert_int_equal(rd(h, RBR), 'p');
	assert_int_equal(rd(h, RBR), 'q');
	assert_int_equal(rd(h, LSR), 0x60);
	serial_get_stats(&h->s, &st);
	assert_int_equal(st.tx_bytes, 0);
	assert_int_equal(st.tx_dropped, 0);
	assert_int_equal(st.rx_bytes, 0);

	/* Leaving loopback: status back to DCD|DSR|CTS, host may feed. */
	h->rx_space_calls = 0;
	wr(h, MCR, 0x00);
	assert_int_equal(h->rx_space_calls, 1);
	assert_int_equal(rd(h, MSR) & 0xf0, 0xb0);
	wr(h, THR, 'r');
	assert_int_equal(h->nr_out, 1);
	assert_int_equal(h->out[0], 'r');
	assert_int_equal(rd(h, LSR), 0x60);
}

static void test_loopback_overrun(void **state)
{
	struct host *h = *state;
	struct serial_stats st;

	wr(h, MCR, 0x18); /* loop, OUT2 */
	wr(h, IER, 0x05); /* RX data, line status */
	wr(h, FCR, 0x01);
	for (int i = 0; i < 20; i++)
		wr(h, THR, 'A' + i);
	serial_get_stats(&h->s, &st);
	assert_int_equal(st.rx_overrun, 4);
	assert_int_equal(h->nr_out, 0);
	/* Line status outranks data; loopback keeps the pin low. */
	assert_int_equal(rd(h, IIR), 0xc6);
	assert_int_equal(h->nr_irq, 0);
	assert_int_equal(rd(h, LSR), 0x63);
	assert_int_equal(rd(h, LSR), 0x61); /* OE cleared by the read */
	assert_int_equal(rd(h, IIR), 0xc4);
	for (int i = 0; i < 16; i++)
		assert_int_equal(rd(h, RBR), 'A' + i);
	assert_int_equal(rd(h, IIR), 0xc1);

	/* Non-FIFO mode overruns on the second byte. */
	wr(h, FCR, 0x00);
	wr(h, THR, '1');
	wr(h, THR, '2');
	assert_int_equal(rd(h, LSR), 0x63);
	assert_int_equal(rd(h, RBR), '1');
	serial_get_stats(&h->s, &st);
	assert_int_equal(st.rx_overrun, 5);
}

static void test_out2_gating(void **state)
{
	struct host *h = *state;

	wr(h, IER, 0x02);
	assert_int_equal(rd(h, IIR), 0x02); /* pending, acked, no line */
	wr(h, IER, 0x00);
	wr(h, IER, 0x03);
	assert_int_equal(h->nr_irq, 0);
	wr(h, MCR, 0x08);
	assert_int_equal(h->nr_irq, 1);
	assert_int_equal(h->levels[0], 1);
	wr(h, MCR, 0x03); /* OUT2 off: line low, source still pending */
	assert_int_equal(h->nr_irq, 2);
	assert_int_equal(h->levels[1], 0);
	assert_int_equal(rd(h, IIR), 0x02);
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"x", 1), 1);
	assert_int_equal(h->nr_irq, 2);
	wr(h, MCR, 0x0b);
	assert_int_equal(h->nr_irq, 3);
	assert_int_equal(h->levels[2], 1);
	/* Loopback also cuts the line, as OUT2's pin goes inactive. */
	wr(h, MCR, 0x1b);
	assert_int_equal(h->nr_irq, 4);
	assert_int_equal(h->levels[3], 0);
	assert_int_equal(rd(h, IIR), 0x04);
	wr(h, MCR, 0x0b);
	assert_int_equal(h->nr_irq, 5);
	assert_int_equal(rd(h, RBR), 'x');
	assert_int_equal(h->level, 0);
}

static void test_priorities(void **state)
{
	struct host *h = *state;

	wr(h, MCR, 0x08);
	wr(h, FCR, 0x01);
	wr(h, IER, 0x0f);
	/* THRE only (MSR deltas: none yet). */
	assert_int_equal(h->level, 1);
	/* Make an MSR delta: loopback toggle (line low while in loopback). */
	wr(h, MCR, 0x18);
	wr(h, MCR, 0x08);
	assert_int_equal(h->level, 1);
	/* RX data beats THRE. */
	assert_int_equal(serial_rx(&h->s, (const uint8_t *)"d", 1), 1);
	/* Line status beats RX data: force OE through loopback. */
	wr(h, MCR, 0x18);
	wr(h, FCR, 0x00);
	wr(h, THR, 'e');
	wr(h, THR, 'f');
	wr(h, MCR, 0x08);
	assert_int_equal(h->level, 1);
	assert_int_equal(rd(h, IIR), 0x06);
	assert_int_equal(rd(h, LSR), 0x63);
	assert_int_equal(rd(h, IIR), 0x04);
	assert_int_equal(rd(h, RBR), 'e');
	assert_int_equal(rd(h, IIR), 0x02); /* THRE now; the read acks it */
	assert_int_equal(rd(h, IIR), 0x00); /* modem status */
	assert_int_equal(h->level, 1);
	/* CTS and DSR toggled; DCD stayed up (OUT2). */
	assert_int_equal(rd(h, MSR), 0xb0 | 0x03);
	assert_int_equal(rd(h, IIR), 0x01);
	assert_int_equal(h->level, 0);
	/* Disabled sources never show. */
	wr(h, IER, 0x00);
	wr(h, MCR, 0x18);
	wr(h, THR, 'g');
	wr(h, THR, 'h');
	assert_int_equal(rd(h, IIR), 0x01);
	assert_int_equal(rd(h, LSR), 0x63);
}

static void test_wide_and_bad_access(void **state)
{
	struct host *h = *state;
	uint8_t buf[8];
	uint32_t w = 0x1234567f;

	serial_bus_ops.write(&h->s, SCR, &w, 4);
	memset(buf, 0, sizeof(buf));
	serial_bus_ops.read(&h->s, SCR, buf, 4);
	assert_int_equal(buf[0], 0x7f);
	assert_int_equal(buf[1], 0xff);
	assert_int_equal(buf[3], 0xff);
	serial_bus_ops.read(&h->s, SCR, buf, 8);
	assert_int_equal(buf[0], 0x7f);
	assert_int_equal(buf[7], 0xff);
	/* Offsets past the window: reads all ones, writes dropped. */
	for (uint64_t off = 8; off < 12; off++) {
		memset(buf, 0, sizeof(buf));
		serial_bus_ops.read(&h->s, off, buf, 2);
		assert_int_equal(buf[0], 0xff);
		assert_int_equal(buf[1], 0xff);
		serial_bus_ops.write(&h->s, off, &w, 1);
	}
	serial_bus_ops.read(&h->s, UINT64_MAX, buf, 1);
	assert_int_equal(buf[0], 0xff);
	serial_bus_ops.write(&h->s, 0, &w, 0); /* len 0: nothing */
	assert_int_equal(h->nr_out, 0);
	assert_int_equal(rd(h, SCR), 0x7f);
}

/*
 * The line must be exactly "a source is pending, OUT2 set, no loopback".
 * IIR shows the state before its own side effect (the THRE ack), so compare
 * the level seen before the read.
 */
static void check_line(struct host *h)
{
	uint8_t mcr = rd(h, MCR);
	int before = h->level;
	uint8_t iir = rd(h, IIR);

	assert_int_equal(before, !(iir & 1) && (mcr & 0x08) && !(mcr & 0x10));
	assert_int_equal(iir & 0x30, 0);
	assert_true((iir & 0xc0) == 0 || (iir & 0xc0) == 0xc0);
	switch (iir & 0x0f) {
	case 0x01:
	case 0x06:
	case 0x04:
	case 0x0c:
	case 0x02:
	case 0x00:
		break;
	default:
		fail_msg("bad IIR %#x", iir);
	}
	/* After the read the line still matches. */
	mcr = rd(h, MCR);
	before = h->level;
	iir = rd(h, IIR);
	assert_int_equal(before, !(iir & 1) && (mcr & 0x08) && !(mcr & 0x10));
}

/* Every (offset, value) write from reset, then every register read. */
static void test_exhaustive_from_reset(void **state)
{
	(void)state;
	for (unsigned int dlab = 0; dlab < 2; dlab++)
		for (unsigned int off = 0; off < 8; off++)
			for (unsigned int v = 0; v < 256; v++) {
				struct host *h = test_calloc(1, sizeof(*h));
				uint8_t exp_lcr = dlab ? 0x80 : 0;
				uint8_t r;

				serial_init(&h->s, &host_ops, h);
				if (dlab)
					wr(h, LCR, 0x80);
				wr(h, off, v);
				if (off == LCR)
					exp_lcr = v;
				assert_int_equal(rd(h, LCR), exp_lcr);
				r = rd(h, SCR);
				assert_int_equal(r, off == SCR ? v : 0);
				r = rd(h, MCR);
				assert_int_equal(r,
						 off == MCR ? (v & 0x1f) : 0);
				if (exp_lcr & 0x80) {
					assert_int_equal(rd(h, DLL),
							 off == DLL ? v : 1);
					assert_int_equal(rd(h, DLM),
							 off == DLM ? v : 0);
				} else {
					assert_int_equal(rd(h, RBR), 0);
					assert_int_equal(rd(h, IER),
							 off == IER ? (v & 0x0f)
								    : 0);
				}
				/* THR from reset: to the host, not loopback. */
				if (off == THR && !dlab) {
					assert_int_equal(h->nr_out, 1);
					assert_int_equal(h->out[0], v);
				} else {
					assert_int_equal(h->nr_out, 0);
				}
				r = rd(h, LSR);
				assert_int_equal(r, 0x60);
				r = rd(h, MSR);
				if (off == MCR && (v & 0x10)) {
					uint8_t st = 0;

					st |= (v & 0x02) ? 0x10 : 0;
					st |= (v & 0x01) ? 0x20 : 0;
					st |= (v & 0x04) ? 0x40 : 0;
					st |= (v & 0x08) ? 0x80 : 0;
					assert_int_equal(
					    r,
					    st | ((st ^ 0xb0) & 0x10 ? 1 : 0) |
						((st ^ 0xb0) & 0x20 ? 2 : 0) |
						((st ^ 0xb0) & 0x80 ? 8 : 0));
				} else {
					assert_int_equal(r, 0xb0);
				}
				r = rd(h, IIR);
				if (off == FCR && (v & 1))
					assert_int_equal(r & 0xc0, 0xc0);
				else
					assert_int_equal(r & 0xc0, 0);
				if (off == IER && !dlab && (v & 0x02))
					assert_int_equal(r & 0x0f, 0x02);
				else
					assert_int_equal(r & 0x0f, 0x01);
				/* One write cannot both enable a source and OUT2. */
				assert_int_equal(h->nr_irq, 0);
				serial_destroy(&h->s);
				test_free(h);
			}
}

/* All writes in sequence on one device: state piles up; stay consistent. */
static void test_exhaustive_sequence(void **state)
{
	struct host *h = *state;
	struct serial_stats st;

	for (unsigned int round = 0; round < 3; round++)
		for (unsigned int off = 0; off < 8; off++)
			for (unsigned int v = 0; v < 256; v++) {
				uint8_t in = (uint8_t)(v * 7 + off);

				h->tx_fail = (v & 3) == 3;
				wr(h, off, (uint8_t)(v ^ (round * 0x55)));
				if (v % 5 == 0)
					serial_rx(&h->s, &in, 1);
				for (unsigned int r = 0; r < 8; r++) {
					if (r == IIR)
						check_line(h);
					else
						rd(h, r);
				}
				assert_int_equal(rd(h, LSR) & 0x60, 0x60);
				assert_true(h->s.rx_count <= 16);
				assert_true(serial_rx_space(&h->s) <= 16);
			}
	serial_get_stats(&h->s, &st);
	assert_true(st.tx_bytes > 0);
	assert_true(st.tx_dropped > 0);
	assert_int_equal(st.tx_bytes, h->nr_out);
}

/*
 * Threads as in the VMM: an "event loop" feeds input and waits on rx_space
 * when the FIFO is full, a "vCPU" drains RBR by polling LSR.DR, another
 * "vCPU" writes THR. Every byte must arrive once, in order.
 */
#define THREAD_BYTES 50000

struct thr_host {
	struct host h;
	sem_t room;
};

static void thr_rx_space(void *opaque)
{
	struct thr_host *t = opaque;

	sem_post(&t->room);
}

static void thr_irq(void *opaque, int level)
{
	struct thr_host *t = opaque;

	/* Under the device lock: levels alternate. */
	if (level == t->h.level)
		t->h.tx_fail = 2; /* flag the error for the main thread */
	t->h.level = level;
	t->h.nr_irq++;
}

static int thr_tx(void *opaque, uint8_t byte)
{
	struct thr_host *t = opaque;

	if (byte != (uint8_t)t->h.nr_out)
		t->h.tx_fail = 3;
	t->h.nr_out++;
	return 0;
}

static const struct serial_ops thr_ops = {
    .irq = thr_irq, .tx = thr_tx, .rx_space = thr_rx_space};

static void *thr_feeder(void *arg)
{
	struct thr_host *t = arg;
	size_t done = 0;

	while (done < THREAD_BYTES) {
		uint8_t buf[7];
		size_t want = THREAD_BYTES - done < 7 ? THREAD_BYTES - done : 7;

		for (size_t i = 0; i < want; i++)
			buf[i] = (uint8_t)(done + i);
		done += serial_rx(&t->h.s, buf, want);
		if (done < THREAD_BYTES && !serial_rx_space(&t->h.s))
			sem_wait(&t->room);
	}
	return NULL;
}

static void *thr_writer(void *arg)
{
	struct thr_host *t = arg;

	for (unsigned int i = 0; i < THREAD_BYTES; i++)
		wr(&t->h, THR, (uint8_t)i);
	return NULL;
}

static void test_threads(void **state)
{
	struct thr_host *t = test_calloc(1, sizeof(*t));
	pthread_t feeder, writer;
	struct serial_stats st;
	size_t got = 0;
	(void)state;

	sem_init(&t->room, 0, 0);
	serial_init(&t->h.s, &thr_ops, t);
	wr(&t->h, FCR, 0x01);
	wr(&t->h, MCR, 0x08);
	wr(&t->h, IER, 0x03);
	assert_int_equal(pthread_create(&feeder, NULL, thr_feeder, t), 0);
	assert_int_equal(pthread_create(&writer, NULL, thr_writer, t), 0);
	while (got < THREAD_BYTES) {
		if (!(rd(&t->h, LSR) & 0x01))
			continue;
		assert_int_equal(rd(&t->h, RBR), (uint8_t)got);
		got++;
	}
	pthread_join(feeder, NULL);
	pthread_join(writer, NULL);
	assert_int_equal(t->h.tx_fail, 0);
	assert_int_equal(t->h.nr_out, THREAD_BYTES);
	serial_get_stats(&t->h.s, &st);
	assert_int_equal(st.rx_bytes, THREAD_BYTES);
	assert_int_equal(st.tx_bytes, THREAD_BYTES);
	assert_int_equal(rd(&t->h, LSR), 0x60);
	serial_destroy(&t->h.s);
	sem_destroy(&t->room);
	test_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_divisor_round_trip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_lcr_scr_mcr_readback, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tx_stats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_dropped, setup, teardown),
	    cmocka_unit_test(test_no_ops),
	    cmocka_unit_test_setup_teardown(test_thre_interrupt, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_thre_linux_txen_probe, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rx_data_interrupt, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rx_fifo_trigger, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rx_fifo_bound, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_clear, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback_overrun, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_out2_gating, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_priorities, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wide_and_bad_access, setup,
					    teardown),
	    cmocka_unit_test(test_exhaustive_from_reset),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test_setup_teardown(test_exhaustive_sequence, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
