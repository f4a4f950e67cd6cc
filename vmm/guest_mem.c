// SPDX-License-Identifier: MIT
#define _GNU_SOURCE
#include "guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layout.h"

static void gm_layout(struct guest_mem *gm, uint64_t ram_size)
{
	uint64_t low = ram_size < MMIO_GAP_START ? ram_size : MMIO_GAP_START;

	gm->ram_size = ram_size;
	gm->region[0] = (struct guest_region){0, low, gm->base};
	gm->nr_regions = 1;
	if (ram_size > low) {
		gm->region[1] = (struct guest_region){
		    MMIO_GAP_END, ram_size - low, gm->base + low};
		gm->nr_regions = 2;
	}
}

int gm_create(struct guest_mem *gm, uint64_t ram_size)
{
	void *p;
	int fd;

	memset(gm, 0, sizeof(*gm));
	fd = memfd_create(GUEST_RAM_MEMFD_NAME, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)ram_size) < 0)
		goto err;
	p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED)
		goto err;
	/* Guest RAM never belongs in a core dump of the VMM. */
	madvise(p, ram_size, MADV_DONTDUMP);
	gm->base = p;
	gm->memfd = fd;
	gm_layout(gm, ram_size);
	return 0;
err:;
	int err = -errno;
	close(fd);
	return err;
}

int gm_create_fake(struct guest_mem *gm, uint64_t ram_size)
{
	void *p;

	memset(gm, 0, sizeof(*gm));
	p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	gm->base = p;
	gm->memfd = -1;
	gm_layout(gm, ram_size);
	return 0;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->base)
		munmap(gm->base, gm->ram_size);
	if (gm->memfd >= 0)
		close(gm->memfd);
	memset(gm, 0, sizeof(*gm));
	gm->memfd = -1;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->region[i];

		if (gpa >= r->gpa && end <= r->gpa + r->size &&
		    (gpa < r->gpa + r->size || len == 0))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t gm_low_end(const struct guest_mem *gm)
{
	return gm->region[0].size;
}
