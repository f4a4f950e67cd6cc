/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio driver steps shared by the payloads (see virtio_mmio.h):
 * finding a device, feature negotiation, queue set-up and DRIVER_OK.
 */
#include "virtio_mmio.h"

#include "rt.h"

/* QEMU microvm's virtio-mmio transports, probed when there is no device tree. */
#define MICROVM_VIRTIO_BASE 0xfeb00000ull
#define MICROVM_VIRTIO_SLOTS 24
#define MICROVM_VIRTIO_SIZE 0x200ull

static uint32_t rd(uint64_t base, uint32_t off) { return mmio_read32(base + off); }
static void wr(uint64_t base, uint32_t off, uint32_t v) { mmio_write32(base + off, v); }

static bool is_device(uint64_t base, uint32_t id)
{
	return rd(base, R_MAGIC) == VIRTIO_MMIO_MAGIC && rd(base, R_DEVICE_ID) == id;
}

bool vmmio_find(uint32_t id, unsigned n, struct vmmio_dev *dev)
{
	const void *fdt = rt_boot.fdt;
	unsigned seen = 0;

	if (!fdt) {
		for (unsigned i = 0; i < MICROVM_VIRTIO_SLOTS; i++) {
			uint64_t base = MICROVM_VIRTIO_BASE + MICROVM_VIRTIO_SIZE * i;

			if (is_device(base, id) && seen++ == n) {
				*dev = (struct vmmio_dev){.base = base};
				return true;
			}
		}
		return false;
	}
	for (int node = fdt_next_compatible(fdt, -1, "virtio,mmio"); node >= 0;
	     node = fdt_next_compatible(fdt, node, "virtio,mmio")) {
		uint64_t base, size;
		uint32_t gsi;

		if (!fdt_get_reg(fdt, node, 0, &base, &size) ||
		    !fdt_getprop_u32(fdt, node, "interrupts", &gsi))
			continue;
		if (is_device(base, id) && seen++ == n) {
			*dev = (struct vmmio_dev){base, gsi, fdt_get_name(fdt, node)};
			return true;
		}
	}
	return false;
}

const char *vmmio_negotiate(uint64_t base, uint64_t want, uint64_t *offered,
			    uint64_t *accepted)
{
	uint64_t offer, acc;

	if (rd(base, R_VERSION) != 2)
		return "not a virtio-mmio version 2 (modern) device";
	wr(base, R_STATUS, 0); /* reset */
	if (rd(base, R_STATUS) != 0)
		return "device did not reset";
	wr(base, R_STATUS, S_ACKNOWLEDGE);
	wr(base, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
	wr(base, R_DEV_FEAT_SEL, 0);
	offer = rd(base, R_DEV_FEAT);
	wr(base, R_DEV_FEAT_SEL, 1);
	offer |= (uint64_t)rd(base, R_DEV_FEAT) << 32;
	if (!(offer & VIRTIO_F_VERSION_1))
		return "VERSION_1 not offered";
	acc = offer & (want | VIRTIO_F_VERSION_1);
	wr(base, R_DRV_FEAT_SEL, 0);
	wr(base, R_DRV_FEAT, (uint32_t)acc);
	wr(base, R_DRV_FEAT_SEL, 1);
	wr(base, R_DRV_FEAT, (uint32_t)(acc >> 32));
	wr(base, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	if (!(rd(base, R_STATUS) & S_FEATURES_OK))
		return "FEATURES_OK did not stick";
	if (offered)
		*offered = offer;
	if (accepted)
		*accepted = acc;
	return NULL;
}

uint32_t vmmio_queue_max(uint64_t base, unsigned idx)
{
	wr(base, R_QUEUE_SEL, idx);
	return rd(base, R_QUEUE_NUM_MAX);
}

const char *vmmio_queue(uint64_t base, unsigned idx, unsigned size,
			const void *desc, const void *avail, const void *used)
{
	wr(base, R_QUEUE_SEL, idx);
	if (rd(base, R_QUEUE_READY))
		return "queue already ready after reset";
	if (!size || size > rd(base, R_QUEUE_NUM_MAX))
		return "queue size above the device's maximum";
	wr(base, R_QUEUE_NUM, size);
	wr(base, R_QUEUE_DESC_LO, (uint32_t)(uintptr_t)desc);
	wr(base, R_QUEUE_DESC_HI, (uint32_t)((uintptr_t)desc >> 32));
	wr(base, R_QUEUE_DRIVER_LO, (uint32_t)(uintptr_t)avail);
	wr(base, R_QUEUE_DRIVER_HI, (uint32_t)((uintptr_t)avail >> 32));
	wr(base, R_QUEUE_DEVICE_LO, (uint32_t)(uintptr_t)used);
	wr(base, R_QUEUE_DEVICE_HI, (uint32_t)((uintptr_t)used >> 32));
	wr(base, R_QUEUE_READY, 1);
	return NULL;
}

const char *vmmio_driver_ok(uint64_t base)
{
	wr(base, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	if (rd(base, R_STATUS) & (S_NEEDS_RESET | S_FAILED))
		return "device refused DRIVER_OK (NEEDS_RESET)";
	return NULL;
}
