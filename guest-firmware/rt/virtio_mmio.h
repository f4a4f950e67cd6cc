/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio (version 2) register offsets and device status bits, for the
 * payloads' own small drivers. Written from the virtio 1.x specification,
 * not shared with the VMM's devices/virtio.h, so a wrong constant on one
 * side cannot hide a bug on the other.
 */
#ifndef GF_VIRTIO_MMIO_H
#define GF_VIRTIO_MMIO_H

#define R_MAGIC 0x000 /* "virt" */
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEAT 0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT 0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INT_STATUS 0x060
#define R_INT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LO 0x080
#define R_QUEUE_DESC_HI 0x084
#define R_QUEUE_DRIVER_LO 0x090
#define R_QUEUE_DRIVER_HI 0x094
#define R_QUEUE_DEVICE_LO 0x0a0
#define R_QUEUE_DEVICE_HI 0x0a4
#define R_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976u /* "virt" */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLK 2
#define VIRTIO_ID_RNG 4
#define VIRTIO_F_VERSION_1 (1ULL << 32)

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40
#define S_FAILED 0x80

/*
 * The steps every payload driver takes (virtio 1.2 sections 3.1.1, 4.2.3),
 * in rt/virtio_mmio.c. Each returns NULL, or a short reason for the
 * payload to report.
 */
#include <stdbool.h>
#include <stdint.h>

struct vmmio_dev {
	uint64_t base;
	uint32_t gsi;     /* 0 when probed without a device tree */
	const char *name; /* device-tree node name; NULL when probed */
};

/* The n-th (from 0) device of type id: from the device tree, or without
 * one (QEMU microvm) by probing microvm's transport slots. */
bool vmmio_find(uint32_t id, unsigned n, struct vmmio_dev *dev);
/* Reset, ACKNOWLEDGE, DRIVER, accept offered & (want | VERSION_1),
 * FEATURES_OK. offered and accepted may be NULL. */
const char *vmmio_negotiate(uint64_t base, uint64_t want, uint64_t *offered,
			    uint64_t *accepted);
uint32_t vmmio_queue_max(uint64_t base, unsigned idx);
/* Queue idx with size entries at these rings, then QueueReady. */
const char *vmmio_queue(uint64_t base, unsigned idx, unsigned size,
			const void *desc, const void *avail, const void *used);
/* DRIVER_OK, and a check that the device did not refuse it. */
const char *vmmio_driver_ok(uint64_t base);

#endif
