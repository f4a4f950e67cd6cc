/* SPDX-License-Identifier: MIT */
/*
 * Interrupt-driven serial echo: UART RX interrupt -> IOAPIC pin (GSI 4, edge)
 * -> vector ECHO_VECTOR. The handler drains the RX FIFO and echoes each byte;
 * 0x04 (EOT) ends the run with "echo: bye <N>" and status 0.
 */
#include "rt.h"

#define ECHO_VECTOR 0x24
#define EOT 0x04

static volatile bool done;
static volatile unsigned echoed;
static volatile uint8_t last = '\n';

static void drain_rx(void)
{
	uint16_t port = rt_boot.com1_port;

	/* Bounded: the FIFO holds 16 bytes, the VMM may refill while we read. */
	for (int i = 0; i < 256 && (inb(port + UART_LSR) & UART_LSR_DR); i++) {
		uint8_t c = inb(port + UART_RBR);

		if (done)
			continue; /* after EOT: discard */
		if (c == EOT) {
			done = true;
			continue;
		}
		putchar(c);
		last = c;
		echoed++;
	}
}

static void uart_isr(struct rt_regs *regs)
{
	(void)regs;
	drain_rx();
}

int main(void)
{
	uint16_t port = rt_boot.com1_port;

	rt_irq_register(ECHO_VECTOR, uart_isr);
	rt_lapic_enable();
	rt_ioapic_route(rt_boot.com1_gsi, ECHO_VECTOR, false, false);
	outb(port + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	outb(port + UART_IER, UART_IER_RDI);
	puts("echo: ready");
	/* Bytes that arrived before the route existed raised no edge: take them now. */
	drain_rx();
	while (!done)
		rt_wait_irq(); /* IF=0 here: sti; hlt; cli */
	outb(port + UART_IER, 0);
	rt_ioapic_mask(rt_boot.com1_gsi);
	if (last != '\n')
		putchar('\n'); /* the bye line stands on its own line */
	printf("echo: bye %u\n", echoed);
	return 0;
}
