// SPDX-License-Identifier: MIT
/*
 * virtio-blk device model. All state is protected by b->mmio.lock (see
 * virtio_mmio.h): the transport hooks run with it held, and
 * virtio_blk_complete() takes it on the event-loop thread.
 *
 * Life of a request: pop (checked host pointers) -> parse the header and
 * check everything against the capacity -> either complete at once
 * (errors, GET_ID, DISCARD/WRITE_ZEROES via fallocate) or queue on the
 * pending list (a read or write that continues the one before it on the
 * disk joins that one's host I/O) -> one io_submit() per batch ->
 * completion from the aio eventfd -> status byte, used element, interrupt.
 */
#define _GNU_SOURCE
#include "virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../vmm/util.h"

#define SECTOR	  VIRTIO_BLK_SECTOR_SIZE
#define DIO_ALIGN 512

/* ---- request helpers ---- */

static struct virtio_blk_req *req_get(struct virtio_blk *b)
{
	struct virtio_blk_req *r = b->free_list;

	if (!r)
		return NULL;
	b->free_list = r->next;
	r->next = NULL;
	return r;
}

static void req_put(struct virtio_blk *b, struct virtio_blk_req *r)
{
	free(r->bounce);
	r->bounce = NULL;
	free(r->miov);
	r->miov = NULL;
	r->group = r->group_tail = r->gnext = NULL;
	r->nomerge = false;
	r->next = b->free_list;
	b->free_list = r;
	b->busy--;
}

/* Write the status byte, return the chain, recycle the request. */
static void req_done(struct virtio_blk *b, struct virtio_blk_req *r,
		     uint8_t status, uint32_t used_len)
{
	if (status != VIRTIO_BLK_S_OK)
		b->stats.errors++;
	if (status == VIRTIO_BLK_S_UNSUPP)
		b->stats.unsupported++;
	*r->status = status;
	/* Only data we actually wrote counts: on error just the status byte. */
	vq_push(&b->mmio.vq[0], r->elem.head, status ? 1 : used_len);
	b->pushed++;
	req_put(b, r);
}

static void pend_add(struct virtio_blk *b, struct virtio_blk_req *r)
{
	r->next = NULL;
	if (b->pend_tail)
		b->pend_tail->next = r;
	else
		b->pend_head = r;
	b->pend_tail = r;
}

/* Put a request and every request merged into its I/O (reset, drain). */
static void req_put_group(struct virtio_blk *b, struct virtio_blk_req *r)
{
	struct virtio_blk_req *m = r->group, *next;

	req_put(b, r);
	for (; m; m = next) {
		next = m->gnext;
		req_put(b, m);
	}
}

static struct virtio_blk_req *pend_pop(struct virtio_blk *b)
{
	struct virtio_blk_req *r = b->pend_head;

	if (r) {
		b->pend_head = r->next;
		if (!b->pend_head)
			b->pend_tail = NULL;
		r->next = NULL;
	}
	return r;
}

/*
 * Build r->iov over [skip, skip+len) of the readable (out) or writable
 * segments. len has been checked against the segment totals.
 */
static bool req_build_iov(struct virtio_blk_req *r, bool writable,
			  uint64_t skip, uint64_t len)
{
	const struct vq_elem *e = &r->elem;
	unsigned first = writable ? e->nr_out : 0;
	unsigned end = writable ? e->nr_out + e->nr_in : e->nr_out;
	bool aligned = true;

	r->niov = 0;
	for (unsigned i = first; i < end && len; i++) {
		const struct vq_seg *s = &e->seg[i];
		uint64_t n;

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n = s->len - skip;
		if (n > len)
			n = len;
		r->iov[r->niov].iov_base = s->ptr + skip;
		r->iov[r->niov].iov_len = n;
		if (((uintptr_t)(s->ptr + skip) | n) & (DIO_ALIGN - 1))
			aligned = false;
		r->niov++;
		len -= n;
		skip = 0;
	}
	return aligned;
}

/*
 * Point r's iocb at its buffers: its bounce buffer, the merged segments if
 * it leads a merge, or its own segments.
 */
static void req_prep_iocb(struct virtio_blk *b, struct virtio_blk_req *r)
{
	bool write = r->type == VIRTIO_BLK_T_OUT;
	struct iovec *iov = r->miov ? r->miov : r->iov;
	int n = (int)(r->miov ? r->nmiov : r->niov);

	if (r->bounce && write)
		io_prep_pwrite(&r->iocb, b->fd, r->bounce, r->len,
			       (off_t)r->off);
	else if (r->bounce)
		io_prep_pread(&r->iocb, b->fd, r->bounce, r->len,
			      (off_t)r->off);
	else if (write)
		io_prep_pwritev(&r->iocb, b->fd, iov, n, (off_t)r->off);
	else
		io_prep_preadv(&r->iocb, b->fd, iov, n, (off_t)r->off);
	io_set_eventfd(&r->iocb, b->efd);
	r->iocb.data = r;
}

/* Prepare the iocb for an IN/OUT request; false: IOERR. */
static bool req_prep_rw(struct virtio_blk *b, struct virtio_blk_req *r,
			uint64_t sector)
{
	bool write = r->type == VIRTIO_BLK_T_OUT;
	bool aligned;

	r->off = sector * SECTOR;
	if (write)
		aligned = req_build_iov(
		    r, false, sizeof(struct virtio_blk_outhdr), r->len);
	else
		aligned = req_build_iov(r, true, 0, r->len);

	if (b->direct && !aligned) {
		/* O_DIRECT needs aligned memory: bounce, bounded in size. */
		if (r->len > VIRTIO_BLK_MAX_BOUNCE)
			return false;
		if (posix_memalign((void **)&r->bounce, 4096, r->len))
			return false;
		b->stats.bounced++;
		if (write) {
			uint64_t pos = 0;

			for (unsigned i = 0; i < r->niov; i++) {
				memcpy(r->bounce + pos, r->iov[i].iov_base,
				       r->iov[i].iov_len);
				pos += r->iov[i].iov_len;
			}
		}
	}
	req_prep_iocb(b, r);
	return true;
}

/*
 * If r starts where the last pending request (a read, or a write, like r)
 * ends on the disk, add r's buffers to that request's I/O. Bounced and
 * retried requests stay alone; so does everything when memory is short.
 */
static bool req_try_merge(struct virtio_blk *b, struct virtio_blk_req *r)
{
	struct virtio_blk_req *l = b->pend_tail;
	uint64_t llen;
	unsigned lniov;

	if (!l || l->type != r->type || l->bounce || r->bounce || l->nomerge)
		return false;
	llen = l->miov ? l->mlen : l->len;
	lniov = l->miov ? l->nmiov : l->niov;
	if (l->off + llen != r->off || llen + r->len > VIRTIO_BLK_MERGE_MAX ||
	    lniov + r->niov > IOV_MAX)
		return false;
	if (!l->miov) {
		l->miov = malloc(IOV_MAX * sizeof(*l->miov));
		if (!l->miov)
			return false;
		memcpy(l->miov, l->iov, l->niov * sizeof(*l->miov));
		l->nmiov = l->niov;
		l->mlen = l->len;
	}
	memcpy(l->miov + l->nmiov, r->iov, r->niov * sizeof(*r->iov));
	l->nmiov += r->niov;
	l->mlen += r->len;
	r->gnext = NULL;
	if (l->group_tail)
		l->group_tail->gnext = r;
	else
		l->group = r;
	l->group_tail = r;
	req_prep_iocb(b, l);
	b->stats.merged++;
	return true;
}

/*
 * A merged I/O failed: put the leader and its group back at the head of
 * the pending list, in disk order, each to be redone alone, so that an
 * error reaches only the requests it belongs to.
 */
static void req_split(struct virtio_blk *b, struct virtio_blk_req *r)
{
	struct virtio_blk_req *m = r->group, *last = r, *next;

	b->stats.split++;
	free(r->miov);
	r->miov = NULL;
	r->group = r->group_tail = NULL;
	r->nomerge = true;
	req_prep_iocb(b, r);
	for (; m; m = next) {
		next = m->gnext;
		m->gnext = NULL;
		m->nomerge = true;
		req_prep_iocb(b, m);
		last->next = m;
		last = m;
	}
	last->next = b->pend_head;
	b->pend_head = r;
	if (!b->pend_tail)
		b->pend_tail = last;
}

/* DISCARD / WRITE_ZEROES: synchronous fallocate in this thread. */
static uint8_t req_discard(struct virtio_blk *b, struct virtio_blk_req *r)
{
	bool zero = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint64_t hdr = sizeof(struct virtio_blk_outhdr);
	uint64_t nseg =
	    (r->elem.out_len - hdr) / sizeof(struct virtio_blk_discard_wz);
	uint32_t max_seg =
	    zero ? b->cfg.max_write_zeroes_seg : b->cfg.max_discard_seg;

	if ((r->elem.out_len - hdr) % sizeof(struct virtio_blk_discard_wz) ||
	    !nseg || nseg > max_seg)
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t i = 0; i < nseg; i++) {
		struct virtio_blk_discard_wz d;
		uint64_t end;
		int mode, ret;

		vq_elem_read(&r->elem, false, hdr + i * sizeof(d), &d,
			     sizeof(d));
		if (d.flags & ~(uint32_t)VIRTIO_BLK_WZ_F_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		if (!zero && (d.flags & VIRTIO_BLK_WZ_F_UNMAP))
			return VIRTIO_BLK_S_UNSUPP;
		if (d.num_sectors > VIRTIO_BLK_MAX_DISCARD_SECTORS ||
		    __builtin_add_overflow(d.sector, d.num_sectors, &end) ||
		    end > b->capacity)
			return VIRTIO_BLK_S_IOERR;
		if (!d.num_sectors)
			continue;
		/*
		 * Zeroing prefers ZERO_RANGE (keeps the allocation); a punched
		 * hole reads back as zeros too, so it is the fallback.
		 */
		mode = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;
		if (zero && b->can_zero_range &&
		    !(d.flags & VIRTIO_BLK_WZ_F_UNMAP))
			mode = FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE;
		ret = fallocate(b->fd, mode, (off_t)(d.sector * SECTOR),
				(off_t)((uint64_t)d.num_sectors * SECTOR));
		if (ret < 0 && errno == EOPNOTSUPP &&
		    (mode & FALLOC_FL_ZERO_RANGE)) {
			b->can_zero_range = false;
			ret = fallocate(
			    b->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			    (off_t)(d.sector * SECTOR),
			    (off_t)((uint64_t)d.num_sectors * SECTOR));
		}
		if (ret < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Look at a freshly popped chain. Completes it at once (returns) unless it
 * needs asynchronous I/O, in which case it goes to the pending list.
 */
static void req_start(struct virtio_blk *b, struct virtio_blk_req *r)
{
	struct vq_elem *e = &r->elem;
	struct virtio_blk_outhdr hdr;
	struct vq_seg *last;
	uint64_t in_data, end_sector;
	uint8_t st = VIRTIO_BLK_S_IOERR;

	r->bounce = NULL;
	r->len = 0;
	/*
	 * The status byte is the last byte of the last writable buffer. With
	 * no place for it the request cannot be answered: give the chain back
	 * untouched (used.len 0) and count it.
	 */
	last = e->nr_in ? &e->seg[e->nr_out + e->nr_in - 1] : NULL;
	if (!last || !last->len) {
		b->stats.rejected++;
		b->stats.errors++;
		vq_push(&b->mmio.vq[0], e->head, 0);
		b->pushed++;
		req_put(b, r);
		return;
	}
	r->status = last->ptr + last->len - 1;
	in_data = e->in_len - 1;

	/* The header must be device-readable and complete. */
	if (e->out_len < sizeof(hdr))
		goto done;
	vq_elem_read(e, false, 0, &hdr, sizeof(hdr));
	r->type = hdr.type;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (hdr.type == VIRTIO_BLK_T_IN) {
			b->stats.reads++;
			/* Data must be writable: nothing readable after the header. */
			if (e->out_len != sizeof(hdr))
				goto done;
			r->len = in_data;
		} else {
			b->stats.writes++;
			if (b->readonly || in_data)
				goto done;
			r->len = e->out_len - sizeof(hdr);
		}
		if (r->len % SECTOR ||
		    __builtin_add_overflow(hdr.sector, r->len / SECTOR,
					   &end_sector) ||
		    end_sector > b->capacity)
			goto done;
		if (!r->len) {
			st = VIRTIO_BLK_S_OK;
			goto done;
		}
		if (!req_prep_rw(b, r, hdr.sector))
			goto done;
		if (!req_try_merge(b, r))
			pend_add(b, r);
		return;
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flushes++;
		io_prep_fdsync(&r->iocb, b->fd);
		io_set_eventfd(&r->iocb, b->efd);
		r->iocb.data = r;
		pend_add(b, r);
		return;
	case VIRTIO_BLK_T_GET_ID:
		b->stats.get_ids++;
		if (e->out_len != sizeof(hdr) || in_data < VIRTIO_BLK_ID_BYTES)
			goto done;
		vq_elem_write(e, 0, b->serial, VIRTIO_BLK_ID_BYTES);
		req_done(b, r, VIRTIO_BLK_S_OK, VIRTIO_BLK_ID_BYTES + 1);
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (hdr.type == VIRTIO_BLK_T_DISCARD)
			b->stats.discards++;
		else
			b->stats.write_zeroes++;
		if (!virtio_mmio_has_feature(&b->mmio,
					     hdr.type == VIRTIO_BLK_T_DISCARD
						 ? VIRTIO_BLK_F_DISCARD
						 : VIRTIO_BLK_F_WRITE_ZEROES)) {
			st = VIRTIO_BLK_S_UNSUPP;
			goto done;
		}
		if (b->readonly || in_data)
			goto done;
		st = req_discard(b, r);
		goto done;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		goto done;
	}
done:
	req_done(b, r, st, 1);
}

/* Finish a request the kernel completed with result res. */
static void req_complete(struct virtio_blk *b, struct virtio_blk_req *r,
			 long res)
{
	uint8_t st = VIRTIO_BLK_S_OK;
	uint32_t used = 1;

	if (r->type == VIRTIO_BLK_T_FLUSH) {
		if (res != 0)
			st = VIRTIO_BLK_S_IOERR;
	} else if (res < 0 || (uint64_t)res != r->len) {
		/* Errors and short transfers are reported, never retried. */
		st = VIRTIO_BLK_S_IOERR;
	} else if (r->type == VIRTIO_BLK_T_IN) {
		if (r->bounce) {
			uint64_t pos = 0;

			for (unsigned i = 0; i < r->niov; i++) {
				memcpy(r->iov[i].iov_base, r->bounce + pos,
				       r->iov[i].iov_len);
				pos += r->iov[i].iov_len;
			}
		}
		b->stats.bytes_read += r->len;
		used = (uint32_t)(r->len + 1);
	} else {
		b->stats.bytes_written += r->len;
	}
	if (st != VIRTIO_BLK_S_OK)
		pr_debug("virtio-blk %s: request type %u failed: %ld", b->path,
			 r->type, res);
	req_done(b, r, st, used);
}

/* Finish what one iocb carried: a request, or a merged group. */
static void req_finish(struct virtio_blk *b, struct virtio_blk_req *r, long res)
{
	struct virtio_blk_req *m = r->group, *next;

	if (!m) {
		req_complete(b, r, res);
		return;
	}
	if (res < 0 || (uint64_t)res != r->mlen) {
		req_split(b, r);
		return;
	}
	req_complete(b, r, (long)r->len); /* frees miov, forgets the group */
	for (; m; m = next) {
		next = m->gnext;
		req_complete(b, m, (long)m->len);
	}
}

/*
 * Submit pending requests in order, in as few io_submit() calls as the
 * kernel allows. A FLUSH waits at the head of the list until nothing
 * is in flight, so it covers every write completed before it.
 */
static void blk_submit(struct virtio_blk *b)
{
	struct iocb *batch[VQ_MAX_SIZE];

	for (;;) {
		struct virtio_blk_req *r;
		unsigned n = 0;
		int ret;

		for (r = b->pend_head; r && n < VQ_MAX_SIZE; r = r->next) {
			if (r->type == VIRTIO_BLK_T_FLUSH && (b->inflight || n))
				break;
			batch[n++] = &r->iocb;
		}
		if (!n)
			return;
		r = b->pend_head;
		if (r->type == VIRTIO_BLK_T_FLUSH && !b->aio_fsync) {
			pend_pop(b);
			req_done(b, r,
				 fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR
						  : VIRTIO_BLK_S_OK,
				 1);
			continue;
		}
		ret = b->submit(b->ctx, n, batch);
		if (ret == -EAGAIN) {
			/* Stays pending: retried on the next completion or kick. */
			b->stats.submit_eagain++;
			return;
		}
		if (ret < 0) {
			if (r->type == VIRTIO_BLK_T_FLUSH && ret == -EINVAL) {
				pr_warn(
				    "virtio-blk %s: no aio fsync, using fdatasync()",
				    b->path);
				b->aio_fsync = false;
				continue;
			}
			/*
			 * The first request is bad: fail it (a merged one is
			 * redone request by request), go on with the rest.
			 */
			pend_pop(b);
			if (r->group)
				req_split(b, r);
			else
				req_done(b, r, VIRTIO_BLK_S_IOERR, 1);
			continue;
		}
		if (ret == 0)
			return;
		for (int i = 0; i < ret; i++)
			pend_pop(b);
		b->inflight += (unsigned)ret;
	}
}

/* Reap whatever the kernel finished; never blocks. */
static void blk_reap(struct virtio_blk *b)
{
	struct io_event ev[64];
	struct timespec zero = {0, 0};

	while (b->inflight) {
		int n = io_getevents(b->ctx, 0, 64, ev, &zero);

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			b->inflight--;
			req_finish(b, ev[i].data, (long)ev[i].res);
		}
	}
}

/* Pop and start as many requests as the queue and our slots allow. */
static void blk_process(struct virtio_blk *b)
{
	struct virtqueue *vq = &b->mmio.vq[0];

	if (!b->mmio.live || !vq->ready)
		goto submit;
	for (;;) {
		/* At most queue-size requests in flight, whatever avail says. */
		while (b->busy < vq->num) {
			struct virtio_blk_req *r = req_get(b);
			int ret;

			if (!r)
				break;
			b->busy++;
			ret = vq_pop(vq, &r->elem);
			if (ret <= 0) {
				req_put(b, r);
				if (ret < 0) {
					virtio_mmio_set_needs_reset(&b->mmio);
					goto submit;
				}
				break;
			}
			if (b->busy > b->stats.max_inflight)
				b->stats.max_inflight = b->busy;
			req_start(b, r);
		}
		if (b->busy >= vq->num || !vq_enable_notify(vq))
			break;
	}
submit:
	blk_submit(b);
}

static void blk_signal(struct virtio_blk *b)
{
	if (b->pushed) {
		b->pushed = 0;
		virtio_mmio_signal_used(&b->mmio, 0);
	}
}

void virtio_blk_complete(struct virtio_blk *b)
{
	uint64_t cnt;

	pthread_mutex_lock(&b->mmio.lock);
	/* Clear the eventfd first: a completion after this wakes us again. */
	if (read(b->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		pr_debug("virtio-blk %s: eventfd read: %s", b->path,
			 strerror(errno));
	blk_reap(b);
	blk_process(b);
	blk_signal(b);
	pthread_mutex_unlock(&b->mmio.lock);
}

int virtio_blk_completion_fd(const struct virtio_blk *b)
{
	return b->efd;
}

/* ---- transport hooks (lock held) ---- */

static int blk_activate(void *dev)
{
	(void)dev;
	return 0;
}

static void blk_notify(void *dev, unsigned q)
{
	struct virtio_blk *b = dev;

	if (q != 0)
		return;
	blk_process(b);
	blk_signal(b);
}

/* Wait for every submitted request; drop results, guest memory untouched. */
static void blk_drain(struct virtio_blk *b)
{
	struct io_event ev[64];
	struct virtio_blk_req *r;

	while (b->inflight) {
		int n = io_getevents(b->ctx, 1, 64, ev, NULL);

		if (n < 0) {
			if (n == -EINTR)
				continue;
			pr_err("virtio-blk %s: io_getevents: %s", b->path,
			       strerror(-n));
			break;
		}
		for (int i = 0; i < n; i++) {
			b->inflight--;
			req_put_group(b, ev[i].data);
		}
	}
	while ((r = pend_pop(b)))
		req_put_group(b, r);
	b->pushed = 0;
}

static void blk_reset(void *dev)
{
	blk_drain(dev);
}

static const struct virtio_dev_ops blk_ops = {
    .activate = blk_activate,
    .notify = blk_notify,
    .reset = blk_reset,
};

/* ---- set-up ---- */

static int blk_open(struct virtio_blk *b, const struct disk_config *dc)
{
	int flags = (dc->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	uint64_t size;
	void *probe;

	b->fd = open(dc->path, flags | O_DIRECT);
	b->direct = true;
	if (b->fd < 0 && errno == EINVAL) {
		b->fd = open(dc->path, flags);
		b->direct = false;
	}
	if (b->fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			pr_err("disk %s: no such file", dc->path);
		else if (!dc->readonly &&
			 (err == -EACCES || err == -EROFS || err == -EPERM))
			pr_err(
			    "disk %s: not writable (add ,ro for a read-only disk): %s",
			    dc->path, strerror(-err));
		else
			pr_err("disk %s: %s", dc->path, strerror(-err));
		return err;
	}
	if (fstat(b->fd, &st) < 0) {
		pr_err("disk %s: stat: %s", dc->path, strerror(errno));
		return -errno;
	}
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &size) < 0) {
			pr_err("disk %s: BLKGETSIZE64: %s", dc->path,
			       strerror(errno));
			return -errno;
		}
	} else {
		pr_err("disk %s: not a regular file or block device", dc->path);
		return -EINVAL;
	}
	if (size % SECTOR) {
		pr_err("disk %s: size %llu is not a multiple of 512 bytes",
		       dc->path, (unsigned long long)size);
		return -EINVAL;
	}
	b->capacity = size / SECTOR;

	/*
	 * Some file systems accept O_DIRECT but need more than 512-byte
	 * alignment; a 512-aligned probe read tells. Fall back to buffered.
	 */
	if (b->direct && size >= SECTOR) {
		if (posix_memalign(&probe, 4096, 2 * SECTOR))
			return -ENOMEM;
		if (pread(b->fd, (uint8_t *)probe + SECTOR, SECTOR, SECTOR) <
			0 &&
		    errno == EINVAL) {
			int fl = fcntl(b->fd, F_GETFL);

			if (fl < 0 ||
			    fcntl(b->fd, F_SETFL, fl & ~O_DIRECT) < 0) {
				free(probe);
				pr_err("disk %s: cannot drop O_DIRECT: %s",
				       dc->path, strerror(errno));
				return -errno;
			}
			b->direct = false;
		}
		free(probe);
	}
	if (!b->direct)
		pr_warn("disk %s: O_DIRECT refused, using the host page cache",
			dc->path);

	/* Probe hole punching past EOF: it changes nothing there. */
	if (!dc->readonly && S_ISREG(st.st_mode)) {
		b->can_punch = !fallocate(
		    b->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
		    (off_t)size, SECTOR);
		b->can_zero_range = b->can_punch; /* tried first, falls back */
	}
	return 0;
}

static int sys_io_submit(io_context_t ctx, long nr, struct iocb **iocbs)
{
	return io_submit(ctx, nr, iocbs);
}

int virtio_blk_create(struct virtio_blk **out, const struct guest_mem *gm,
		      const struct disk_config *dc, unsigned index,
		      void (*irq)(void *opaque), void *irq_opaque)
{
	struct virtio_blk *b;
	uint64_t features;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fd = b->efd = -1;
	b->gm = gm;
	b->readonly = dc->readonly;
	b->submit = sys_io_submit;
	b->aio_fsync = true;
	snprintf(b->path, sizeof(b->path), "%s", dc->path);
	if (dc->serial)
		memcpy(b->serial, dc->serial,
		       strnlen(dc->serial, sizeof(b->serial)));
	else
		snprintf(b->serial, sizeof(b->serial), "vmm-disk-%u", index);

	err = blk_open(b, dc);
	if (err)
		goto fail;

	b->reqs = calloc(VIRTIO_BLK_QUEUE_MAX, sizeof(*b->reqs));
	if (!b->reqs) {
		err = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < VIRTIO_BLK_QUEUE_MAX; i++) {
		b->reqs[i].next = b->free_list;
		b->free_list = &b->reqs[i];
	}
	/* req_put() decrements; the list starts full with busy == 0. */
	b->busy = 0;

	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0) {
		err = -errno;
		goto fail;
	}
	err = io_setup(VIRTIO_BLK_QUEUE_MAX, &b->ctx);
	if (err) {
		pr_err("disk %s: io_setup: %s", dc->path, strerror(-err));
		b->ctx = 0;
		goto fail;
	}

	b->cfg.capacity = b->capacity;
	b->cfg.seg_max = VIRTIO_BLK_SEG_MAX;
	b->cfg.blk_size = SECTOR;
	b->cfg.num_queues = 1;
	features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
		   VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		   VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) |
		   VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
		   VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		   VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	if (b->readonly)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	if (b->can_punch) {
		features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
			    VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
		b->cfg.max_discard_sectors = VIRTIO_BLK_MAX_DISCARD_SECTORS;
		b->cfg.max_discard_seg = 1;
		b->cfg.discard_sector_alignment = 1;
		b->cfg.max_write_zeroes_sectors =
		    VIRTIO_BLK_MAX_DISCARD_SECTORS;
		b->cfg.max_write_zeroes_seg = 1;
		b->cfg.write_zeroes_may_unmap = 1;
	}
	err = virtio_mmio_init(&b->mmio, gm, VIRTIO_ID_BLOCK, features, 1,
			       VIRTIO_BLK_QUEUE_MAX, &b->cfg, sizeof(b->cfg),
			       &blk_ops, b, irq, irq_opaque);
	if (err)
		goto fail;
	*out = b;
	return 0;
fail:
	if (b->ctx)
		io_destroy(b->ctx);
	if (b->efd >= 0)
		close(b->efd);
	if (b->fd >= 0)
		close(b->fd);
	free(b->reqs);
	free(b);
	return err;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mmio.lock);
	blk_drain(b);
	pthread_mutex_unlock(&b->mmio.lock);
	virtio_mmio_destroy(&b->mmio);
	io_destroy(b->ctx);
	close(b->efd);
	close(b->fd);
	free(b->reqs);
	free(b);
}

void virtio_blk_print_stats(void *opaque, FILE *out)
{
	struct virtio_blk *b = opaque;
	const struct virtio_blk_stats *s = &b->stats;

	fprintf(out, "virtio-blk %s%s\n", b->path, b->readonly ? " (ro)" : "");
	fprintf(out, "  %-14s %12s\n", "request", "count");
	fprintf(out, "  %-14s %12llu\n", "read", (unsigned long long)s->reads);
	fprintf(out, "  %-14s %12llu\n", "write",
		(unsigned long long)s->writes);
	fprintf(out, "  %-14s %12llu\n", "flush",
		(unsigned long long)s->flushes);
	fprintf(out, "  %-14s %12llu\n", "get-id",
		(unsigned long long)s->get_ids);
	fprintf(out, "  %-14s %12llu\n", "discard",
		(unsigned long long)s->discards);
	fprintf(out, "  %-14s %12llu\n", "write-zeroes",
		(unsigned long long)s->write_zeroes);
	fprintf(out, "  %-14s %12llu\n", "unsupported",
		(unsigned long long)s->unsupported);
	fprintf(out, "  %-14s %12llu\n", "errors",
		(unsigned long long)s->errors);
	fprintf(out, "  %-14s %12llu\n", "rejected",
		(unsigned long long)s->rejected);
	fprintf(out, "  %-14s %12llu\n", "needs-reset",
		(unsigned long long)b->mmio.needs_reset_events);
	fprintf(out, "  %-14s %12llu\n", "bytes read",
		(unsigned long long)s->bytes_read);
	fprintf(out, "  %-14s %12llu\n", "bytes written",
		(unsigned long long)s->bytes_written);
	fprintf(out, "  %-14s %12llu\n", "max in flight",
		(unsigned long long)s->max_inflight);
	fprintf(out, "  %-14s %12llu\n", "submit EAGAIN",
		(unsigned long long)s->submit_eagain);
	fprintf(out, "  %-14s %12llu\n", "bounced",
		(unsigned long long)s->bounced);
	fprintf(out, "  %-14s %12llu\n", "merged",
		(unsigned long long)s->merged);
	fprintf(out, "  %-14s %12llu\n", "merge split",
		(unsigned long long)s->split);
}
