// SPDX-License-Identifier: MIT
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "serial.h"
#include "util.h"
#include "vm.h"

#define CTRL_A 0x01

static struct termios saved_tio;
static bool tio_saved;
static int saved_out_flags = -1;

void console_restore(void)
{
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		tio_saved = false;
	}
	if (saved_out_flags >= 0) {
		fcntl(STDOUT_FILENO, F_SETFL, saved_out_flags);
		saved_out_flags = -1;
	}
}

int console_tx(void *opaque, uint8_t byte)
{
	struct console *c = opaque;

	for (;;) {
		ssize_t n = write(STDOUT_FILENO, &byte, 1);

		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		/* EAGAIN (nobody reads), EPIPE, ...: drop, never block a vCPU. */
		__atomic_fetch_add(&c->out_dropped, 1, __ATOMIC_RELAXED);
		return -1;
	}
}

/* Move bytes from pending into the FIFO; stop reading stdin while full. */
static void console_feed(struct console *c)
{
	while (c->pending_off < c->npending) {
		size_t n = serial_rx(c->serial, c->pending + c->pending_off,
				     c->npending - c->pending_off);

		if (!n)
			break;
		c->pending_off += (unsigned)n;
	}
	if (c->pending_off == c->npending)
		c->pending_off = c->npending = 0;
	if (!c->eof)
		evloop_mod(&c->vm->ev, &c->in, c->npending ? 0 : EPOLLIN);
}

static void console_read(struct ev_handler *h, uint32_t events)
{
	struct console *c = h->opaque;
	uint8_t buf[sizeof(c->pending)];
	ssize_t n;

	(void)events;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* End of input: the guest keeps running, we stop listening. */
		c->eof = true;
		evloop_del(&c->vm->ev, &c->in);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t b = buf[i];

		if (c->tty && c->escape) {
			c->escape = false;
			if (b == 'x' || b == 'X') {
				vm_request_stop(
				    c->vm, VM_EXIT_POWEROFF,
				    "quit from the console (Ctrl-A x)");
				return;
			}
			if (b != CTRL_A)
				continue; /* unknown escape: swallow it */
		} else if (c->tty && b == CTRL_A) {
			c->escape = true;
			continue;
		}
		c->pending[c->npending++] = b;
	}
	console_feed(c);
}

void console_rx_space(void *opaque)
{
	struct console *c = opaque;
	uint64_t one = 1;

	/* Called on a vCPU thread: hand over to the event loop. */
	if (write(c->space.fd, &one, sizeof(one)) < 0) {
		/* counter saturated: a wake-up is pending anyway */
	}
}

static void console_space(struct ev_handler *h, uint32_t events)
{
	struct console *c = h->opaque;
	uint64_t v;

	(void)events;
	if (read(h->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	console_feed(c);
}

void console_init(struct console *c, struct vm *vm, struct serial *s)
{
	int fl;

	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->serial = s;
	c->tty = isatty(STDIN_FILENO);

	fl = fcntl(STDOUT_FILENO, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK)) {
		saved_out_flags = fl;
		fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK);
	}
	if (c->tty && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		struct termios raw = saved_tio;

		tio_saved = true;
		cfmakeraw(&raw);
		raw.c_oflag = saved_tio.c_oflag; /* keep \n -> \r\n on output */
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	atexit(console_restore);

	c->space = (struct ev_handler){.cb = console_space, .opaque = c};
	c->space.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->space.fd < 0 || evloop_add(&vm->ev, &c->space, EPOLLIN))
		die_errno("console eventfd");

	c->in = (struct ev_handler){
	    .fd = STDIN_FILENO, .cb = console_read, .opaque = c};
	/* epoll refuses regular files and /dev/null: then there is no input. */
	if (evloop_add(&vm->ev, &c->in, EPOLLIN) < 0) {
		c->eof = true;
		pr_debug("stdin cannot be polled: no console input");
	} else {
		fl = fcntl(STDIN_FILENO, F_GETFL);
		if (fl >= 0 && !c->tty)
			fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
	}
}
