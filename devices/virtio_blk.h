/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk on a virtio-mmio transport, backed by a regular file (or block
 * device) through libaio. Requests are popped on notification, batched into
 * one io_submit(), and completed from the aio eventfd
 * (virtio_blk_completion_fd(); call virtio_blk_complete() when readable).
 * Nothing here calls KVM: unit tests and the fuzzer use it directly.
 *
 * FLUSH is a barrier: it waits until every earlier request completed, then
 * issues an fdatasync (aio FDSYNC, or fdatasync() if the kernel refuses).
 */
#ifndef DEVICES_VIRTIO_BLK_H
#define DEVICES_VIRTIO_BLK_H

#include <libaio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "../vmm/vm.h"
#include "virtio_mmio.h"
#include "virtqueue.h"

#define VIRTIO_BLK_QUEUE_MAX 256
#define VIRTIO_BLK_SEG_MAX   (VIRTIO_BLK_QUEUE_MAX - 2) /* header, status */
/* Largest request we bounce through an aligned buffer (unaligned O_DIRECT). */
#define VIRTIO_BLK_MAX_BOUNCE	       (8u << 20)
#define VIRTIO_BLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per range */
/*
 * Adjacent reads (or writes) waiting for the same io_submit() are merged
 * into one host I/O of at most this many bytes and IOV_MAX segments.
 */
#define VIRTIO_BLK_MERGE_MAX (2u << 20)

struct virtio_blk_stats {
	uint64_t reads, writes, flushes, get_ids, discards, write_zeroes;
	uint64_t unsupported;
	uint64_t bytes_read, bytes_written;
	uint64_t errors;   /* requests completed with IOERR/UNSUPP */
	uint64_t rejected; /* chains completed without a status byte */
	uint64_t submit_eagain;
	uint64_t max_inflight; /* popped and not yet completed */
	uint64_t bounced;
	uint64_t merged; /* requests carried by another request's I/O */
	uint64_t split;	 /* merged I/Os that failed and were redone singly */
};

struct virtio_blk_req {
	struct iocb iocb;
	struct virtio_blk_req *next; /* free or pending list */
	uint32_t type;
	uint64_t len;	 /* data bytes */
	uint8_t *status; /* checked host pointer into the guest's buffer */
	uint8_t *bounce; /* aligned copy for unaligned O_DIRECT buffers */
	uint64_t off;	 /* byte offset in the backing file (IN/OUT) */
	bool nomerge;	 /* redone singly after a merged I/O failed */
	/*
	 * A merge leader carries the requests after it (group, in disk order)
	 * in one iocb over miov; each still completes on its own.
	 */
	struct virtio_blk_req *group, *group_tail, *gnext;
	uint64_t mlen; /* bytes of the whole merged I/O */
	unsigned nmiov;
	struct iovec *miov;
	unsigned niov;
	struct iovec iov[VQ_MAX_SIZE];
	struct vq_elem elem;
};

typedef int (*virtio_blk_submit_fn)(io_context_t ctx, long nr,
				    struct iocb **iocbs);

struct virtio_blk {
	struct virtio_mmio mmio; /* mmio.lock protects everything here */
	const struct guest_mem *gm;
	char path[256];
	int fd;
	bool readonly;
	bool direct;	/* O_DIRECT: buffers need 512-byte alignment */
	bool can_punch; /* fallocate PUNCH_HOLE works */
	bool can_zero_range;
	bool aio_fsync;	   /* IOCB_CMD_FDSYNC accepted by the kernel */
	uint64_t capacity; /* in 512-byte sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config cfg;

	io_context_t ctx;
	int efd;		     /* aio completion eventfd */
	virtio_blk_submit_fn submit; /* io_submit; tests inject EAGAIN */

	struct virtio_blk_req *reqs;
	struct virtio_blk_req *free_list;
	struct virtio_blk_req *pend_head, *pend_tail; /* not yet submitted */
	unsigned busy;	   /* popped, not completed: <= queue size */
	unsigned inflight; /* submitted to the kernel */
	unsigned pushed;   /* used entries since the last signal */

	struct virtio_blk_stats stats;
};

/*
 * Open the backing file and build the device. index names the default
 * serial "vmm-disk-<index>". Errors name the file. 0 or -errno.
 */
int virtio_blk_create(struct virtio_blk **out, const struct guest_mem *gm,
		      const struct disk_config *dc, unsigned index,
		      void (*irq)(void *opaque), void *irq_opaque);
/* Drains in-flight I/O, closes the file. */
void virtio_blk_destroy(struct virtio_blk *b);

/* The eventfd libaio signals; readable -> virtio_blk_complete(). */
int virtio_blk_completion_fd(const struct virtio_blk *b);
/* Reap completions, submit what waited, pop more. Takes the lock. */
void virtio_blk_complete(struct virtio_blk *b);

/* vm_add_stats() printer: opaque is the struct virtio_blk. */
void virtio_blk_print_stats(void *opaque, FILE *out);

#endif
