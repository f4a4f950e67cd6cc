/* SPDX-License-Identifier: MIT */
/*
 * The epoll event loop. One thread (the VMM's main thread) runs it and does
 * all device I/O: host stdin, ioeventfd queue notifications, libaio
 * completions, tap traffic, signals. Callbacks run on that thread only.
 */
#ifndef VMM_EVLOOP_H
#define VMM_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ev_handler {
	int fd;
	void (*cb)(struct ev_handler *h, uint32_t events);
	void *opaque;
	uint32_t events; /* what is registered now (0: not registered) */
};

struct evloop {
	int epfd;
	int wakefd; /* eventfd: evloop_stop() from any thread */
	volatile bool stop;
};

int evloop_init(struct evloop *ev);
void evloop_close(struct evloop *ev);
/* Add, change or remove interest in h->fd. 0 or -errno. */
int evloop_add(struct evloop *ev, struct ev_handler *h, uint32_t events);
int evloop_mod(struct evloop *ev, struct ev_handler *h, uint32_t events);
int evloop_del(struct evloop *ev, struct ev_handler *h);
/* Dispatch events until evloop_stop(). 0 or -errno. */
int evloop_run(struct evloop *ev);
/* Thread-safe and async-signal-safe. */
void evloop_stop(struct evloop *ev);

#endif
