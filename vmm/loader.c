// SPDX-License-Identifier: MIT
#include "loader.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "util.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

static int fail(char *err, int ret, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, LOADER_ERR_LEN, fmt, ap);
	va_end(ap);
	return ret;
}

static bool in_file(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

/* Walk one PT_NOTE segment for the PVH entry and a "Linux" note. */
static int scan_notes(const uint8_t *p, uint64_t size, struct kernel_info *ki,
		      bool *found, char *err)
{
	uint64_t off = 0;

	while (size - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, p + off, sizeof(nh));
		name_off = off + sizeof(nh);
		desc_off = name_off + ALIGN_UP((uint64_t)nh.n_namesz, 4);
		next = desc_off + ALIGN_UP((uint64_t)nh.n_descsz, 4);
		if (desc_off > size || next > size)
			return fail(err, -EINVAL,
				    "ELF note at offset %lu runs past its "
				    "PT_NOTE segment",
				    (unsigned long)off);
		if (nh.n_namesz == 4 && !memcmp(p + name_off, "Xen", 4) &&
		    nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY) {
			uint64_t entry = 0;

			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				return fail(err, -EINVAL,
					    "PVH entry note has size %u, "
					    "expected 4 or 8",
					    nh.n_descsz);
			memcpy(&entry, p + desc_off, nh.n_descsz);
			ki->entry = entry;
			*found = true;
		}
		if (nh.n_namesz == 6 && !memcmp(p + name_off, "Linux", 6))
			ki->is_linux = true;
		off = next;
	}
	return 0;
}

int load_pvh_elf(struct guest_mem *gm, const uint8_t *img, size_t len,
		 struct kernel_info *ki, char *err)
{
	Elf64_Ehdr eh;
	bool found = false;
	uint64_t load_start = UINT64_MAX, load_end = 0;
	int nload = 0;

	memset(ki, 0, sizeof(*ki));
	ki->kind = KERNEL_PVH_ELF;
	if (len < sizeof(eh))
		return fail(err, -EINVAL,
			    "ELF image truncated: %zu bytes is "
			    "shorter than the ELF header",
			    len);
	memcpy(&eh, img, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return fail(err, -EINVAL,
			    "not an ELF image (bad e_ident magic)");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return fail(err, -EINVAL,
			    "ELF e_ident[EI_CLASS] is %u: only 64-bit "
			    "ELF is supported",
			    eh.e_ident[EI_CLASS]);
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(err, -EINVAL,
			    "ELF e_ident[EI_DATA]: not little-endian");
	if (eh.e_machine != EM_X86_64)
		return fail(err, -EINVAL,
			    "ELF e_machine is %u, not x86-64 (%u)",
			    eh.e_machine, EM_X86_64);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, -EINVAL, "ELF e_phentsize is %u, expected %zu",
			    eh.e_phentsize, sizeof(Elf64_Phdr));
	if (eh.e_phnum == 0 ||
	    !in_file(len, eh.e_phoff,
		     (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))
		return fail(
		    err, -EINVAL,
		    "ELF image truncated: program headers "
		    "(e_phoff %lu, e_phnum %u) lie outside the %zu-byte file",
		    (unsigned long)eh.e_phoff, eh.e_phnum, len);

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t end;
		uint8_t *dst;

		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (!in_file(len, ph.p_offset, ph.p_filesz))
			return fail(
			    err, -EINVAL,
			    "ELF image truncated: segment %u "
			    "(p_offset %#lx, p_filesz %#lx) ends past the %zu-byte file",
			    i, (unsigned long)ph.p_offset,
			    (unsigned long)ph.p_filesz, len);
		if (ph.p_type == PT_NOTE) {
			int ret = scan_notes(img + ph.p_offset, ph.p_filesz, ki,
					     &found, err);
			if (ret)
				return ret;
			continue;
		}
		if (ph.p_filesz > ph.p_memsz)
			return fail(err, -EINVAL,
				    "ELF segment %u: p_filesz > p_memsz", i);
		if (ph.p_memsz == 0)
			continue;
		if (ph.p_paddr < HIMEM_START)
			return fail(err, -EINVAL,
				    "ELF segment %u p_paddr %#lx is below "
				    "1 MiB, where the VMM keeps boot data",
				    i, (unsigned long)ph.p_paddr);
		dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz);
		if (!dst ||
		    __builtin_add_overflow(ph.p_paddr, ph.p_memsz, &end))
			return fail(
			    err, -EFBIG,
			    "ELF segment %u [%#lx, +%#lx) is not "
			    "inside guest RAM (%lu MiB): increase --mem?",
			    i, (unsigned long)ph.p_paddr,
			    (unsigned long)ph.p_memsz,
			    (unsigned long)(gm->ram_size >> 20));
		memcpy(dst, img + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (ph.p_paddr < load_start)
			load_start = ph.p_paddr;
		if (end > load_end)
			load_end = end;
		nload++;
	}
	if (!nload)
		return fail(err, -EINVAL, "ELF image has no PT_LOAD segment");
	if (!found)
		return fail(
		    err, -EINVAL,
		    "ELF image has no PVH entry note "
		    "(Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY); for Linux "
		    "build with CONFIG_PVH=y, or boot the bzImage");
	if (!gm_ptr(gm, ki->entry, 1) || ki->entry < load_start ||
	    ki->entry >= load_end)
		return fail(err, -EINVAL,
			    "PVH entry %#lx is outside the loaded "
			    "image",
			    (unsigned long)ki->entry);
	ki->load_end = load_end;
	ki->cmdline_max = CMDLINE_MAX;
	ki->initrd_max = MMIO_GAP_START;
	return 0;
}

/* Linux boot protocol, Documentation/x86/boot.rst. Offsets into the file. */
#define BZ_SETUP_SECTS	   0x1f1
#define BZ_SYSSIZE	   0x1f4
#define BZ_BOOT_FLAG	   0x1fe
#define BZ_HEADER	   0x202
#define BZ_VERSION	   0x206
#define BZ_LOADFLAGS	   0x211
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGN	   0x230
#define BZ_RELOCATABLE	   0x234
#define BZ_XLOADFLAGS	   0x236
#define BZ_CMDLINE_SIZE	   0x238
#define BZ_PREF_ADDRESS	   0x258
#define BZ_INIT_SIZE	   0x260
#define BZ_MIN_LEN	   0x268
#define XLF_KERNEL_64	   (1 << 0)
#define LOADED_HIGH	   (1 << 0)

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}
static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

int load_bzimage(struct guest_mem *gm, const uint8_t *img, size_t len,
		 struct kernel_info *ki, char *err)
{
	uint64_t setup_size, kernel_size, load_addr, align, init_size, start,
	    end;
	uint16_t version;
	size_t hdr_len;
	uint8_t *dst;

	memset(ki, 0, sizeof(*ki));
	ki->kind = KERNEL_BZIMAGE;
	ki->is_linux = true;
	if (len < BZ_MIN_LEN)
		return fail(err, -EINVAL,
			    "bzImage truncated: %zu bytes is shorter "
			    "than the setup header",
			    len);
	if (rd16(img + BZ_BOOT_FLAG) != 0xaa55)
		return fail(err, -EINVAL,
			    "bzImage boot_flag is %#x, expected 0xaa55",
			    rd16(img + BZ_BOOT_FLAG));
	if (memcmp(img + BZ_HEADER, "HdrS", 4))
		return fail(err, -EINVAL,
			    "bzImage header magic is not \"HdrS\"");
	version = rd16(img + BZ_VERSION);
	if (version < 0x020c)
		return fail(err, -EINVAL,
			    "bzImage boot protocol version %u.%02u is "
			    "too old: the 64-bit entry needs 2.12",
			    version >> 8, version & 0xff);
	if (!(rd16(img + BZ_XLOADFLAGS) & XLF_KERNEL_64))
		return fail(err, -EINVAL,
			    "bzImage xloadflags lacks XLF_KERNEL_64: "
			    "not a 64-bit kernel");
	if (!(img[BZ_LOADFLAGS] & LOADED_HIGH))
		return fail(err, -EINVAL,
			    "bzImage loadflags lacks LOADED_HIGH");
	setup_size =
	    ((uint64_t)(img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : 4) + 1) *
	    512;
	if (setup_size >= len)
		return fail(
		    err, -EINVAL,
		    "bzImage truncated: setup_sects (%u) says "
		    "the setup code is %lu bytes but the file is %zu bytes",
		    img[BZ_SETUP_SECTS], (unsigned long)setup_size, len);
	kernel_size = len - setup_size;
	if ((uint64_t)rd32(img + BZ_SYSSIZE) * 16 > kernel_size)
		return fail(err, -EINVAL,
			    "bzImage truncated: syssize says %lu bytes "
			    "of kernel follow the setup code, the file has %lu",
			    (unsigned long)rd32(img + BZ_SYSSIZE) * 16,
			    (unsigned long)kernel_size);
	init_size = rd32(img + BZ_INIT_SIZE);
	if (init_size < kernel_size)
		init_size = kernel_size;
	align = rd32(img + BZ_KERNEL_ALIGN);
	if (align & (align - 1))
		return fail(err, -EINVAL,
			    "bzImage kernel_alignment %#lx is not a "
			    "power of two",
			    (unsigned long)align);
	load_addr = HIMEM_START;
	if (!img[BZ_RELOCATABLE]) {
		load_addr = rd64(img + BZ_PREF_ADDRESS);
		if (load_addr < HIMEM_START)
			return fail(err, -EINVAL,
				    "bzImage is not relocatable and its "
				    "pref_address %#lx is below 1 MiB",
				    (unsigned long)load_addr);
	}
	/*
	 * The kernel decompresses at max(load address aligned up, pref_address
	 * = LOAD_PHYSICAL_ADDR) and needs init_size bytes there
	 * (arch/x86/boot/compressed/head_64.S, startup_64).
	 */
	start = ALIGN_UP(load_addr, align ? align : 1);
	if (start < load_addr || start < rd64(img + BZ_PREF_ADDRESS))
		start = rd64(img + BZ_PREF_ADDRESS);
	if (__builtin_add_overflow(start, init_size, &end) ||
	    end > gm_low_end(gm) || !gm_ptr(gm, load_addr, kernel_size))
		return fail(err, -EFBIG,
			    "bzImage needs RAM up to %#lx (init_size "
			    "%#lx): increase --mem",
			    (unsigned long)end, (unsigned long)init_size);
	dst = gm_ptr(gm, load_addr, kernel_size);
	memcpy(dst, img + setup_size, kernel_size);

	hdr_len = BZ_HEADER + img[0x201] - BZ_SETUP_SECTS;
	if (hdr_len > sizeof(ki->setup_header))
		hdr_len = sizeof(ki->setup_header);
	memcpy(ki->setup_header, img + BZ_SETUP_SECTS, hdr_len);
	ki->setup_header_len = hdr_len;
	ki->entry = load_addr + 0x200;
	ki->load_end = end;
	ki->cmdline_max = rd32(img + BZ_CMDLINE_SIZE) + 1;
	if (ki->cmdline_max > CMDLINE_MAX)
		ki->cmdline_max = CMDLINE_MAX;
	ki->initrd_max = (uint64_t)rd32(img + BZ_INITRD_ADDR_MAX) + 1;
	return 0;
}

int load_kernel(struct guest_mem *gm, const uint8_t *img, size_t len,
		struct kernel_info *ki, char *err)
{
	if (len >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG))
		return load_pvh_elf(gm, img, len, ki, err);
	if (len >= BZ_HEADER + 4 && !memcmp(img + BZ_HEADER, "HdrS", 4))
		return load_bzimage(gm, img, len, ki, err);
	return fail(err, -EINVAL,
		    "not a kernel image: neither an ELF (magic "
		    "\\x7fELF) nor a bzImage (\"HdrS\" at offset 0x202)");
}

int load_initrd(struct guest_mem *gm, const struct kernel_info *ki,
		const uint8_t *data, size_t len, uint64_t *gpa, char *err)
{
	uint64_t top = gm_low_end(gm), addr;

	if (ki->initrd_max < top)
		top = ki->initrd_max;
	if (len > top || ALIGN_DOWN(top - len, 4096) < ki->load_end)
		return fail(
		    err, -EFBIG,
		    "initrd (%zu bytes) does not fit in guest "
		    "RAM between the kernel (ends %#lx) and %#lx: increase "
		    "--mem",
		    len, (unsigned long)ki->load_end, (unsigned long)top);
	addr = ALIGN_DOWN(top - len, 4096);
	if (gm_write(gm, addr, data, len))
		return fail(err, -EFBIG, "initrd does not fit in guest RAM");
	*gpa = addr;
	return 0;
}
