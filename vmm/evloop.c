// SPDX-License-Identifier: MIT
#include "evloop.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

int evloop_init(struct evloop *ev)
{
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};

	memset(ev, 0, sizeof(*ev));
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0)
		return -errno;
	ev->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev->wakefd < 0 ||
	    epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->wakefd, &e)) {
		int err = -errno;

		evloop_close(ev);
		return err;
	}
	return 0;
}

void evloop_close(struct evloop *ev)
{
	if (ev->epfd > 0)
		close(ev->epfd);
	if (ev->wakefd > 0)
		close(ev->wakefd);
	ev->epfd = ev->wakefd = -1;
}

static int evloop_ctl(struct evloop *ev, int op, struct ev_handler *h,
		      uint32_t events)
{
	struct epoll_event e = {.events = events, .data.ptr = h};

	if (epoll_ctl(ev->epfd, op, h->fd, &e) < 0)
		return -errno;
	h->events = op == EPOLL_CTL_DEL ? 0 : events;
	return 0;
}

int evloop_add(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	return evloop_ctl(ev, EPOLL_CTL_ADD, h, events);
}

int evloop_mod(struct evloop *ev, struct ev_handler *h, uint32_t events)
{
	if (h->events == events)
		return 0;
	return evloop_ctl(ev, EPOLL_CTL_MOD, h, events);
}

int evloop_del(struct evloop *ev, struct ev_handler *h)
{
	return evloop_ctl(ev, EPOLL_CTL_DEL, h, 0);
}

int evloop_run(struct evloop *ev)
{
	struct epoll_event events[32];

	while (!__atomic_load_n(&ev->stop, __ATOMIC_ACQUIRE)) {
		int n = epoll_wait(ev->epfd, events, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct ev_handler *h = events[i].data.ptr;

			if (!h) { /* the wake-up eventfd */
				uint64_t v;

				if (read(ev->wakefd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					return -errno;
				continue;
			}
			h->cb(h, events[i].events);
		}
	}
	return 0;
}

void evloop_stop(struct evloop *ev)
{
	uint64_t one = 1;

	__atomic_store_n(&ev->stop, true, __ATOMIC_RELEASE);
	if (write(ev->wakefd, &one, sizeof(one)) < 0) {
		/* EAGAIN: counter saturated, the loop is awake anyway. */
	}
}
