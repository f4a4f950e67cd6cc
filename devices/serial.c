// SPDX-License-Identifier: MIT
/* 16550A UART model; the behaviour is described in serial.h. */
#include "serial.h"

#include <string.h>

/* Register offsets in the 8-port window. */
enum {
	UART_RBR_THR_DLL = 0,
	UART_IER_DLM = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI  0x04
#define IER_EDSSI 0x08
#define IER_MASK  0x0f

#define IIR_NONE 0x01
#define IIR_MSI	 0x00
#define IIR_THRI 0x02
#define IIR_RDI	 0x04
#define IIR_RLSI 0x06
#define IIR_CTI	 0x0c
#define IIR_FIFO 0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_TRIGGER  0xc0
#define FCR_KEEP     0xc9 /* enable, DMA mode, trigger level */

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_DELTA 0x0f
#define MSR_CTS	  0x10
#define MSR_DSR	  0x20
#define MSR_RI	  0x40
#define MSR_DCD	  0x80

static int serial_fifo_on(const struct serial *s)
{
	return s->fcr & FCR_ENABLE;
}

static unsigned int serial_rx_cap(const struct serial *s)
{
	return serial_fifo_on(s) ? SERIAL_FIFO_SIZE : 1;
}

static unsigned int serial_trigger(const struct serial *s)
{
	static const unsigned int level[4] = {1, 4, 8, 14};

	return serial_fifo_on(s) ? level[s->fcr >> 6] : 1;
}

/* Room for host input: none in loopback, where the input pin is cut off. */
static size_t serial_room(const struct serial *s)
{
	if (s->mcr & MCR_LOOP)
		return 0;
	return serial_rx_cap(s) - s->rx_count;
}

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = serial_fifo_on(s) ? IIR_FIFO : 0;

	if ((s->ier & IER_ELSI) && (s->lsr & LSR_OE))
		return fifo | IIR_RLSI;
	if ((s->ier & IER_ERBFI) && s->rx_count)
		return fifo |
		       (s->rx_count >= serial_trigger(s) ? IIR_RDI : IIR_CTI);
	if ((s->ier & IER_ETBEI) && s->thr_ipending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTA))
		return fifo | IIR_MSI;
	return fifo | IIR_NONE;
}

/* Called with s->lock held after every state change; see serial.h. */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & IIR_NONE) && (s->mcr & MCR_OUT2) &&
		    !(s->mcr & MCR_LOOP);

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (s->ops && s->ops->irq)
		s->ops->irq(s->opaque, level);
}

/* Modem status inputs: looped back from MCR, or a cable that is always up. */
static void serial_update_msr(struct serial *s)
{
	uint8_t old = s->msr, st = MSR_DCD | MSR_DSR | MSR_CTS, delta = 0;

	if (s->mcr & MCR_LOOP) {
		st = 0;
		if (s->mcr & MCR_RTS)
			st |= MSR_CTS;
		if (s->mcr & MCR_DTR)
			st |= MSR_DSR;
		if (s->mcr & MCR_OUT1)
			st |= MSR_RI;
		if (s->mcr & MCR_OUT2)
			st |= MSR_DCD;
	}
	if ((old ^ st) & MSR_CTS)
		delta |= MSR_DCTS;
	if ((old ^ st) & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(st & MSR_RI))
		delta |= MSR_TERI;
	if ((old ^ st) & MSR_DCD)
		delta |= MSR_DDCD;
	s->msr = st | (old & MSR_DELTA) | delta;
}

static void serial_rx_push(struct serial *s, uint8_t byte)
{
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = byte;
	s->rx_count++;
	s->lsr |= LSR_DR;
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = s->rx_count = 0;
	s->lsr &= ~LSR_DR;
}

static void serial_write_thr(struct serial *s, uint8_t byte)
{
	s->thr_ipending = 0;
	serial_update_irq(s);
	if (s->mcr & MCR_LOOP) {
		if (s->rx_count < serial_rx_cap(s)) {
			serial_rx_push(s, byte);
		} else {
			s->lsr |= LSR_OE;
			s->stats.rx_overrun++;
		}
	} else if (s->ops && s->ops->tx && s->ops->tx(s->opaque, byte) == 0) {
		s->stats.tx_bytes++;
	} else {
		s->stats.tx_dropped++;
	}
	/* The byte is gone at once: THR is empty again. */
	s->thr_ipending = 1;
}

static void serial_write_ier(struct serial *s, uint8_t val)
{
	val &= IER_MASK;
	/* THRE fires when ETBEI is newly enabled, since THR is always empty. */
	if ((val & IER_ETBEI) && !(s->ier & IER_ETBEI))
		s->thr_ipending = 1;
	else if (!(val & IER_ETBEI))
		s->thr_ipending = 0;
	s->ier = val;
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
	/* Changing the enable bit resets both FIFOs, as on the chip. */
	if ((val ^ s->fcr) & FCR_ENABLE)
		val |= FCR_CLEAR_RX | FCR_CLEAR_TX;
	if (val & FCR_CLEAR_RX)
		serial_rx_clear(s);
	/* FCR_CLEAR_TX: the TX FIFO is always empty, nothing to do. */
	s->fcr = val & FCR_KEEP;
}

static uint8_t serial_read_rbr(struct serial *s)
{
	uint8_t byte;

	if (!s->rx_count)
		return 0;
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
	if (!--s->rx_count)
		s->lsr &= ~LSR_DR;
	return byte;
}

static uint8_t serial_reg_read(struct serial *s, uint64_t offset)
{
	uint8_t val;

	switch (offset) {
	case UART_RBR_THR_DLL:
		return (s->lcr & LCR_DLAB) ? s->dll : serial_read_rbr(s);
	case UART_IER_DLM:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR_FCR:
		val = serial_iir(s);
		/* Reading IIR acknowledges THRE when it is what IIR reports. */
		if ((val & 0x0f) == IIR_THRI)
			s->thr_ipending = 0;
		return val;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		val = s->lsr;
		s->lsr &= ~LSR_OE;
		return val;
	case UART_MSR:
		val = s->msr;
		s->msr &= ~MSR_DELTA;
		return val;
	case UART_SCR:
		return s->scr;
	}
	return 0xff;
}

static void serial_reg_write(struct serial *s, uint64_t offset, uint8_t val)
{
	switch (offset) {
	case UART_RBR_THR_DLL:
		if (s->lcr & LCR_DLAB)
			s->dll = val;
		else
			serial_write_thr(s, val);
		break;
	case UART_IER_DLM:
		if (s->lcr & LCR_DLAB)
			s->dlm = val;
		else
			serial_write_ier(s, val);
		break;
	case UART_IIR_FCR:
		serial_write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val & MCR_MASK;
		serial_update_msr(s);
		break;
	case UART_SCR:
		s->scr = val;
		break;
	default: /* LSR, MSR: read-only here */
		break;
	}
}

/* Tell the host about new room after dropping the lock (it may refill). */
static void serial_unlock(struct serial *s, size_t room_before)
{
	int notify = !room_before && serial_room(s);

	pthread_mutex_unlock(&s->lock);
	if (notify && s->ops && s->ops->rx_space)
		s->ops->rx_space(s->opaque);
}

static void serial_bus_read(void *dev, uint64_t offset, void *data,
			    uint32_t len)
{
	struct serial *s = dev;
	uint8_t *p = data;
	size_t room;

	if (!len)
		return;
	memset(p, 0xff, len);
	if (offset >= SERIAL_NR_PORTS)
		return;
	pthread_mutex_lock(&s->lock);
	room = serial_room(s);
	p[0] = serial_reg_read(s, offset);
	serial_update_irq(s);
	serial_unlock(s, room);
}

static void serial_bus_write(void *dev, uint64_t offset, const void *data,
			     uint32_t len)
{
	struct serial *s = dev;
	size_t room;

	if (!len || offset >= SERIAL_NR_PORTS)
		return;
	pthread_mutex_lock(&s->lock);
	room = serial_room(s);
	serial_reg_write(s, offset, *(const uint8_t *)data);
	serial_update_irq(s);
	serial_unlock(s, room);
}

const struct bus_ops serial_bus_ops = {
    .read = serial_bus_read,
    .write = serial_bus_write,
};

void serial_init(struct serial *s, const struct serial_ops *ops, void *opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->ops = ops;
	s->opaque = opaque;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->dll = 1; /* 115200 baud; see serial.h */
	/* OUT2 is 0 at reset, so the line starts (and stays) low. */
}

void serial_destroy(struct serial *s)
{
	pthread_mutex_destroy(&s->lock);
}

size_t serial_rx(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = serial_room(s);
	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++)
		serial_rx_push(s, buf[i]);
	s->stats.rx_bytes += n;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = serial_room(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_get_stats(struct serial *s, struct serial_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}
