// SPDX-License-Identifier: MIT
/*
 * Unit tests for the kernel loaders: PVH ELF and bzImage images are built in
 * memory here (valid, then broken one field at a time) and loaded into fake
 * guest memory.
 */
#include <elf.h>
#include <errno.h>

#include "testlib.h"

#include "layout.h"
#include "loader.h"
#include "util.h"

#define MiB (1ULL << 20)

/* ---- PVH ELF images ---- */

#define ELF_LOAD_OFF 0x1000
#define ELF_FILESZ   0x100
#define ELF_MEMSZ    0x2000
#define ELF_NOTE_OFF 0x800
#define ELF_ENTRY    (HIMEM_START + 0x10)

struct img {
	uint8_t b[0x4000];
	size_t len;
};

static Elf64_Ehdr *ehdr(struct img *im)
{
	return (Elf64_Ehdr *)im->b;
}
static Elf64_Phdr *phdr(struct img *im, int i)
{
	return (Elf64_Phdr *)(im->b + sizeof(Elf64_Ehdr)) + i;
}

/* Append a note at *off; returns its size. */
static size_t put_note(uint8_t *p, const char *name, uint32_t type,
		       const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = {.n_namesz = (uint32_t)strlen(name) + 1,
			 .n_descsz = descsz,
			 .n_type = type};
	size_t off = sizeof(nh);

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + off, name, nh.n_namesz);
	off += ALIGN_UP(nh.n_namesz, 4);
	memcpy(p + off, desc, descsz);
	return off + ALIGN_UP(descsz, 4);
}

/*
 * One PT_LOAD (0x100 bytes of pattern at 1 MiB, 0x2000 in memory) and one
 * PT_NOTE with a GNU note, the Xen PVH entry note and, if linux, a Linux note.
 */
static void build_elf(struct img *im, bool linux_note)
{
	Elf64_Ehdr *eh = ehdr(im);
	uint32_t entry = ELF_ENTRY;
	size_t nsz = 0;

	memset(im, 0, sizeof(*im));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xffffffff81000000ULL; /* ignored: PVH uses the note */
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;

	nsz += put_note(im->b + ELF_NOTE_OFF + nsz, "GNU", 3,
			"\1\2\3\4\5\6\7\10", 8);
	nsz += put_note(im->b + ELF_NOTE_OFF + nsz, "Xen", 18, &entry, 4);
	if (linux_note)
		nsz +=
		    put_note(im->b + ELF_NOTE_OFF + nsz, "Linux", 6, "6.1", 4);

	*phdr(im, 0) = (Elf64_Phdr){.p_type = PT_LOAD,
				    .p_flags = PF_R | PF_X,
				    .p_offset = ELF_LOAD_OFF,
				    .p_vaddr = 0xffffffff81000000ULL,
				    .p_paddr = HIMEM_START,
				    .p_filesz = ELF_FILESZ,
				    .p_memsz = ELF_MEMSZ,
				    .p_align = 0x1000};
	*phdr(im, 1) = (Elf64_Phdr){.p_type = PT_NOTE,
				    .p_offset = ELF_NOTE_OFF,
				    .p_filesz = nsz,
				    .p_memsz = nsz,
				    .p_align = 4};
	/* Something the loader must skip. */
	*phdr(im, 2) = (Elf64_Phdr){.p_type = PT_GNU_STACK,
				    .p_offset = 0xdead0000,
				    .p_filesz = 0x10000000};
	for (int i = 0; i < ELF_FILESZ; i++)
		im->b[ELF_LOAD_OFF + i] = (uint8_t)(i * 7 + 1);
	im->len = ELF_LOAD_OFF + ELF_FILESZ;
}

struct fixture {
	struct guest_mem gm;
	struct img im;
	struct kernel_info ki;
	char err[LOADER_ERR_LEN];
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f.ki, 0, sizeof(f.ki));
	memset(f.err, 0, sizeof(f.err));
	if (gm_create_fake(&f.gm, 64 * MiB))
		return -1;
	/* Poison RAM so bss clearing is visible. */
	memset(f.gm.base + HIMEM_START, 0xcc, 4 * MiB);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	gm_destroy(&f->gm);
	return 0;
}

/* Load f->im as ELF; expect ret and, on error, needle in the message. */
static void elf_expect(struct fixture *f, int ret, const char *needle)
{
	int got = load_pvh_elf(&f->gm, f->im.b, f->im.len, &f->ki, f->err);

	if (got != ret)
		fail_msg("load_pvh_elf returned %d, want %d (err \"%s\")", got,
			 ret, got ? f->err : "");
	if (needle)
		assert_contains(f->err, needle);
}

static void test_elf_valid(void **state)
{
	struct fixture *f = *state;
	const uint8_t *ram = f->gm.base;

	build_elf(&f->im, false);
	elf_expect(f, 0, NULL);
	assert_int_equal(f->ki.kind, KERNEL_PVH_ELF);
	assert_int_equal(f->ki.entry, ELF_ENTRY);
	assert_int_equal(f->ki.load_end, HIMEM_START + ELF_MEMSZ);
	assert_false(f->ki.is_linux);
	assert_int_equal(f->ki.cmdline_max, CMDLINE_MAX);
	assert_int_equal(f->ki.initrd_max, MMIO_GAP_START);
	/* File bytes at p_paddr, then zeroed bss up to p_memsz, then untouched. */
	assert_memory_equal(ram + HIMEM_START, f->im.b + ELF_LOAD_OFF,
			    ELF_FILESZ);
	for (uint64_t i = ELF_FILESZ; i < ELF_MEMSZ; i++)
		if (ram[HIMEM_START + i] != 0)
			fail_msg("bss byte %#lx is %#x", (unsigned long)i,
				 ram[HIMEM_START + i]);
	assert_int_equal(ram[HIMEM_START + ELF_MEMSZ], 0xcc);
	assert_int_equal(ram[HIMEM_START - 1], 0);
}

static void test_elf_linux_note(void **state)
{
	struct fixture *f = *state;

	build_elf(&f->im, true);
	elf_expect(f, 0, NULL);
	assert_true(f->ki.is_linux);
	assert_int_equal(f->ki.entry, ELF_ENTRY);
}

static void test_elf_entry_8byte_note_and_two_segments(void **state)
{
	struct fixture *f = *state;
	uint64_t entry = 2 * MiB + 0x40;
	size_t nsz;

	build_elf(&f->im, false);
	nsz = put_note(f->im.b + ELF_NOTE_OFF, "Xen", 18, &entry, 8);
	phdr(&f->im, 1)->p_filesz = nsz;
	/* A second PT_LOAD at 2 MiB, from file offset 0x1080. */
	*phdr(&f->im, 2) = (Elf64_Phdr){.p_type = PT_LOAD,
					.p_offset = ELF_LOAD_OFF + 0x80,
					.p_paddr = 2 * MiB,
					.p_filesz = 0x80,
					.p_memsz = 0x3000};
	elf_expect(f, 0, NULL);
	assert_int_equal(f->ki.entry, 2 * MiB + 0x40);
	assert_int_equal(f->ki.load_end, 2 * MiB + 0x3000);
	assert_memory_equal(f->gm.base + 2 * MiB, f->im.b + ELF_LOAD_OFF + 0x80,
			    0x80);
	assert_int_equal(f->gm.base[2 * MiB + 0x80], 0);
	assert_int_equal(f->gm.base[2 * MiB + 0x2fff], 0);
}

static void test_elf_truncated(void **state)
{
	struct fixture *f = *state;

	build_elf(&f->im, false);
	f->im.len = sizeof(Elf64_Ehdr) - 1;
	elf_expect(f, -EINVAL, "shorter than the ELF header");
	f->im.len = 0;
	elf_expect(f, -EINVAL, "ELF header");

	/* Program headers past the end of the file. */
	build_elf(&f->im, false);
	f->im.len = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	elf_expect(f, -EINVAL, "program headers");
	build_elf(&f->im, false);
	ehdr(&f->im)->e_phoff = UINT64_MAX - 8;
	elf_expect(f, -EINVAL, "e_phoff");
	build_elf(&f->im, false);
	ehdr(&f->im)->e_phnum = 0;
	elf_expect(f, -EINVAL, "e_phnum");

	/* Segment data past the end of the file. */
	build_elf(&f->im, false);
	f->im.len = ELF_LOAD_OFF + ELF_FILESZ - 1;
	elf_expect(f, -EINVAL, "segment 0");
	assert_contains(f->err, "p_filesz");
	assert_contains(f->err, "truncated");
	build_elf(&f->im, false);
	phdr(&f->im, 0)->p_offset = UINT64_MAX - 0x10;
	elf_expect(f, -EINVAL, "p_offset");
	build_elf(&f->im, false);
	phdr(&f->im, 1)->p_filesz = 0x10000;
	elf_expect(f, -EINVAL, "segment 1");
}

static void test_elf_bad_ident(void **state)
{
	struct fixture *f = *state;

	build_elf(&f->im, false);
	f->im.b[1] = 'X';
	elf_expect(f, -EINVAL, "magic");
	build_elf(&f->im, false);
	f->im.b[0] = 0;
	elf_expect(f, -EINVAL, "e_ident");

	build_elf(&f->im, false);
	ehdr(&f->im)->e_ident[EI_CLASS] = ELFCLASS32;
	elf_expect(f, -EINVAL, "EI_CLASS");
	assert_contains(f->err, "64-bit");

	build_elf(&f->im, false);
	ehdr(&f->im)->e_ident[EI_DATA] = ELFDATA2MSB;
	elf_expect(f, -EINVAL, "EI_DATA");

	build_elf(&f->im, false);
	ehdr(&f->im)->e_machine = EM_AARCH64;
	elf_expect(f, -EINVAL, "e_machine");
	build_elf(&f->im, false);
	ehdr(&f->im)->e_machine = EM_386;
	elf_expect(f, -EINVAL, "e_machine is 3");

	build_elf(&f->im, false);
	ehdr(&f->im)->e_phentsize = 32;
	elf_expect(f, -EINVAL, "e_phentsize");
}

static void test_elf_no_pvh_note(void **state)
{
	struct fixture *f = *state;

	/* A note segment with only GNU and Linux notes. */
	build_elf(&f->im, false);
	size_t nsz = put_note(f->im.b + ELF_NOTE_OFF, "GNU", 3, "abcd", 4);

	nsz += put_note(f->im.b + ELF_NOTE_OFF + nsz, "Linux", 6, "6.1", 4);
	phdr(&f->im, 1)->p_filesz = nsz;
	elf_expect(f, -EINVAL, "XEN_ELFNOTE_PHYS32_ENTRY");
	assert_contains(f->err, "PVH entry note");

	/* A Xen note of another type does not count. */
	uint32_t e = ELF_ENTRY;

	nsz = put_note(f->im.b + ELF_NOTE_OFF, "Xen", 17, &e, 4);
	phdr(&f->im, 1)->p_filesz = nsz;
	elf_expect(f, -EINVAL, "PVH entry note");

	/* No PT_NOTE segment at all. */
	build_elf(&f->im, false);
	phdr(&f->im, 1)->p_type = PT_NULL;
	elf_expect(f, -EINVAL, "PVH entry note");
}

static void test_elf_bad_notes(void **state)
{
	struct fixture *f = *state;
	uint32_t e = ELF_ENTRY;
	Elf64_Nhdr nh;

	/* The segment ends in the middle of the Xen note's descriptor. */
	build_elf(&f->im, false);
	phdr(&f->im, 1)->p_filesz -= 2;
	elf_expect(f, -EINVAL, "runs past its PT_NOTE segment");

	/* Name size that runs far past the segment. */
	build_elf(&f->im, false);
	nh = (Elf64_Nhdr){.n_namesz = 0xfffffff0, .n_descsz = 4, .n_type = 18};
	memcpy(f->im.b + ELF_NOTE_OFF, &nh, sizeof(nh));
	elf_expect(f, -EINVAL, "ELF note at offset 0");

	/* Descriptor size that runs past the segment. */
	build_elf(&f->im, false);
	nh = (Elf64_Nhdr){.n_namesz = 4, .n_descsz = 0xffffffff, .n_type = 18};
	memcpy(f->im.b + ELF_NOTE_OFF, &nh, sizeof(nh));
	elf_expect(f, -EINVAL, "runs past");

	/* PVH note with a 2-byte descriptor. */
	build_elf(&f->im, false);
	phdr(&f->im, 1)->p_filesz =
	    put_note(f->im.b + ELF_NOTE_OFF, "Xen", 18, &e, 2);
	elf_expect(f, -EINVAL, "PVH entry note has size 2");
}

static void test_elf_segment_placement(void **state)
{
	struct fixture *f = *state;

	/* Below 1 MiB, where boot data lives. */
	build_elf(&f->im, false);
	phdr(&f->im, 0)->p_paddr = HIMEM_START - 0x1000;
	elf_expect(f, -EINVAL, "below 1 MiB");
	assert_contains(f->err, "p_paddr");
	build_elf(&f->im, false);
	phdr(&f->im, 0)->p_paddr = 0;
	elf_expect(f, -EINVAL, "p_paddr 0 is below");

	/* Past the end of RAM, straddling it, in the MMIO gap, wrapping. */
	build_elf(&f->im, false);
	phdr(&f->im, 0)->p_paddr = 64 * MiB;
	elf_expect(f, -EFBIG, "not inside guest RAM");
	assert_contains(f->err, "64 MiB");
	build_elf(&f->im, false);
	phdr(&f->im, 0)->p_paddr = 64 * MiB - 0x1000;
	elf_expect(f, -EFBIG, "not inside guest RAM");
	build_elf(&f->im, false);
	phdr(&f->im, 0)->p_paddr = VIRTIO_MMIO_START;
	elf_expect(f, -EFBIG, "segment 0");
	build_elf(&f->im, false);
	phdr(&f->im, 0)->p_memsz = UINT64_MAX - 0x1000;
	elf_expect(f, -EFBIG, "not inside guest RAM");

	/* p_filesz larger than p_memsz. */
	build_elf(&f->im, false);
	phdr(&f->im, 0)->p_memsz = ELF_FILESZ - 1;
	elf_expect(f, -EINVAL, "p_filesz > p_memsz");

	/* No PT_LOAD at all (an empty one does not count). */
	build_elf(&f->im, false);
	phdr(&f->im, 0)->p_filesz = 0;
	phdr(&f->im, 0)->p_memsz = 0;
	elf_expect(f, -EINVAL, "no PT_LOAD");
}

static void set_entry(struct img *im, uint32_t entry)
{
	/* The Xen note is the second one, after the 20-byte GNU note. */
	size_t at = ELF_NOTE_OFF + 12 + 4 + 8 + 12 + 4;

	memcpy(im->b + at, &entry, 4);
}

static void test_elf_entry_outside(void **state)
{
	struct fixture *f = *state;

	build_elf(&f->im, false);
	set_entry(&f->im, HIMEM_START);
	elf_expect(f, 0, NULL);
	assert_int_equal(f->ki.entry, HIMEM_START);
	set_entry(&f->im, HIMEM_START + ELF_MEMSZ - 1);
	elf_expect(f, 0, NULL);

	/* Just past the image, far past it, outside RAM. */
	set_entry(&f->im, HIMEM_START + ELF_MEMSZ);
	elf_expect(f, -EINVAL, "PVH entry 0x102000 is outside");
	set_entry(&f->im, 32 * MiB);
	elf_expect(f, -EINVAL, "outside the loaded image");
	set_entry(&f->im, 0xfff00000);
	elf_expect(f, -EINVAL, "PVH entry");
	/* Below the image: in RAM, but among the VMM's boot data. */
	set_entry(&f->im, 0x1000);
	elf_expect(f, -EINVAL, "PVH entry 0x1000 is outside");
	set_entry(&f->im, HIMEM_START - 1);
	elf_expect(f, -EINVAL, "outside the loaded image");
}

/* ---- bzImage ---- */

#define BZ_SETUP_SECTS 4
#define BZ_SETUP_SIZE  ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_KERNEL_SIZE 0x1000
#define BZ_LEN	       (BZ_SETUP_SIZE + BZ_KERNEL_SIZE)

static void w16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static void w32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void w64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void build_bz(struct img *im)
{
	uint8_t *b = im->b;

	memset(im, 0, sizeof(*im));
	b[0x1f1] = BZ_SETUP_SECTS;
	w16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	w16(b + 0x206, 0x020f);
	b[0x211] = 0x01;	    /* LOADED_HIGH */
	w32(b + 0x22c, 0x7fffffff); /* initrd_addr_max */
	w32(b + 0x230, 0x200000);   /* kernel_alignment */
	b[0x234] = 1;		    /* relocatable_kernel */
	w16(b + 0x236, 0x3);  /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	w32(b + 0x238, 2047); /* cmdline_size */
	w64(b + 0x258, 0x1000000); /* pref_address: LOAD_PHYSICAL_ADDR */
	w32(b + 0x260, 0x400000);  /* init_size: 4 MiB */
	for (int i = 0; i < BZ_KERNEL_SIZE; i++)
		b[BZ_SETUP_SIZE + i] = (uint8_t)(i ^ 0x5a);
	im->len = BZ_LEN;
}

static void bz_expect(struct fixture *f, int ret, const char *needle)
{
	int got = load_bzimage(&f->gm, f->im.b, f->im.len, &f->ki, f->err);

	if (got != ret)
		fail_msg("load_bzimage returned %d, want %d (err \"%s\")", got,
			 ret, got ? f->err : "");
	if (needle)
		assert_contains(f->err, needle);
}

static void test_bz_valid(void **state)
{
	struct fixture *f = *state;

	build_bz(&f->im);
	bz_expect(f, 0, NULL);
	assert_int_equal(f->ki.kind, KERNEL_BZIMAGE);
	assert_true(f->ki.is_linux);
	assert_int_equal(f->ki.entry, HIMEM_START + 0x200);
	/* Decompresses at max(ALIGN_UP(1 MiB, 2 MiB), pref_address 16 MiB). */
	assert_int_equal(f->ki.load_end, 0x1000000 + 0x400000);
	assert_int_equal(f->ki.cmdline_max, 2048);
	assert_int_equal(f->ki.initrd_max, 0x80000000ULL);
	assert_int_equal(f->ki.setup_header_len, 0x26c - 0x1f1);
	assert_memory_equal(f->ki.setup_header, f->im.b + 0x1f1, 0x26c - 0x1f1);
	/* The protected-mode part, and only it, is at 1 MiB. */
	assert_memory_equal(f->gm.base + HIMEM_START, f->im.b + BZ_SETUP_SIZE,
			    BZ_KERNEL_SIZE);
	assert_int_equal(f->gm.base[HIMEM_START + BZ_KERNEL_SIZE], 0xcc);

	/* setup_sects 0 means 4. */
	build_bz(&f->im);
	f->im.b[0x1f1] = 0;
	bz_expect(f, 0, NULL);
	assert_memory_equal(f->gm.base + HIMEM_START, f->im.b + BZ_SETUP_SIZE,
			    16);

	/* A large cmdline_size is capped to what the VMM reserves. */
	build_bz(&f->im);
	w32(f->im.b + 0x238, 0xffff);
	bz_expect(f, 0, NULL);
	assert_int_equal(f->ki.cmdline_max, CMDLINE_MAX);

	/* initrd_addr_max 0xffffffff does not wrap. */
	build_bz(&f->im);
	w32(f->im.b + 0x22c, 0xffffffff);
	bz_expect(f, 0, NULL);
	assert_int_equal(f->ki.initrd_max, 0x100000000ULL);

	/* A kernel_alignment larger than pref_address wins. */
	build_bz(&f->im);
	w32(f->im.b + 0x230, 0x2000000);
	bz_expect(f, 0, NULL);
	assert_int_equal(f->ki.load_end, 0x2000000 + 0x400000);
}

static void test_bz_truncated(void **state)
{
	struct fixture *f = *state;

	build_bz(&f->im);
	f->im.len = 0x267;
	bz_expect(f, -EINVAL, "bzImage truncated");
	assert_contains(f->err, "setup header");
	f->im.len = 0;
	bz_expect(f, -EINVAL, "truncated");
	/* Header is complete but the setup code is not. */
	f->im.len = BZ_SETUP_SIZE;
	bz_expect(f, -EINVAL, "setup_sects");
	build_bz(&f->im);
	f->im.b[0x1f1] = 200;
	bz_expect(f, -EINVAL, "setup_sects (200)");
}

static void test_bz_bad_header(void **state)
{
	struct fixture *f = *state;

	build_bz(&f->im);
	w16(f->im.b + 0x1fe, 0x55aa);
	bz_expect(f, -EINVAL, "boot_flag is 0x55aa");

	build_bz(&f->im);
	memcpy(f->im.b + 0x202, "HdrX", 4);
	bz_expect(f, -EINVAL, "\"HdrS\"");

	build_bz(&f->im);
	w16(f->im.b + 0x206, 0x020b);
	bz_expect(f, -EINVAL, "version 2.11 is too old");
	build_bz(&f->im);
	w16(f->im.b + 0x206, 0x0200);
	bz_expect(f, -EINVAL, "2.12");
	build_bz(&f->im);
	w16(f->im.b + 0x206, 0x020c); /* exactly 2.12 is enough */
	bz_expect(f, 0, NULL);

	build_bz(&f->im);
	w16(f->im.b + 0x236, 0x2);
	bz_expect(f, -EINVAL, "XLF_KERNEL_64");
	assert_contains(f->err, "xloadflags");

	build_bz(&f->im);
	f->im.b[0x211] = 0x80;
	bz_expect(f, -EINVAL, "loadflags lacks LOADED_HIGH");

	build_bz(&f->im);
	w32(f->im.b + 0x230, 0x300000);
	bz_expect(f, -EINVAL, "kernel_alignment 0x300000");
}

static void test_bz_too_big(void **state)
{
	struct fixture *f = *state;

	/* init_size beyond RAM (64 MiB). */
	build_bz(&f->im);
	w32(f->im.b + 0x260, 64 * MiB);
	bz_expect(f, -EFBIG, "init_size");
	assert_contains(f->err, "--mem");
	/* Fits only if the kernel decompressed at 2 MiB, but it does so at
	 * pref_address (16 MiB): 16 + 49 > 64. */
	build_bz(&f->im);
	w32(f->im.b + 0x260, 49 * MiB);
	bz_expect(f, -EFBIG, "init_size 0x3100000");
	/* Exactly up to the end of RAM is fine. */
	build_bz(&f->im);
	w32(f->im.b + 0x260, 48 * MiB);
	bz_expect(f, 0, NULL);
	assert_int_equal(f->ki.load_end, 64 * MiB);
	/* Huge kernel_alignment must not wrap the end address. */
	build_bz(&f->im);
	w32(f->im.b + 0x230, 0x80000000);
	bz_expect(f, -EFBIG, "init_size");
}

static void test_bz_not_relocatable(void **state)
{
	struct fixture *f = *state;

	/* Loaded at pref_address. */
	build_bz(&f->im);
	f->im.b[0x234] = 0;
	w64(f->im.b + 0x258, 0x200000);
	bz_expect(f, 0, NULL);
	assert_int_equal(f->ki.entry, 0x200000 + 0x200);
	assert_int_equal(f->ki.load_end, 0x200000 + 0x400000);
	assert_memory_equal(f->gm.base + 0x200000, f->im.b + BZ_SETUP_SIZE,
			    BZ_KERNEL_SIZE);
	/* pref_address below 1 MiB would overwrite the boot data. */
	build_bz(&f->im);
	f->im.b[0x234] = 0;
	w64(f->im.b + 0x258, 0x1000);
	bz_expect(f, -EINVAL, "pref_address");
	/* Outside RAM, and wrapping. */
	build_bz(&f->im);
	f->im.b[0x234] = 0;
	w64(f->im.b + 0x258, 0x10000000);
	bz_expect(f, -EFBIG, "bzImage needs RAM");
	build_bz(&f->im);
	f->im.b[0x234] = 0;
	w64(f->im.b + 0x258, UINT64_MAX - 0xfff);
	bz_expect(f, -EFBIG, "init_size");
}

/* ---- load_kernel, load_initrd ---- */

static void test_load_kernel_dispatch(void **state)
{
	struct fixture *f = *state;

	build_elf(&f->im, true);
	assert_int_equal(
	    load_kernel(&f->gm, f->im.b, f->im.len, &f->ki, f->err), 0);
	assert_int_equal(f->ki.kind, KERNEL_PVH_ELF);
	assert_true(f->ki.is_linux);

	build_bz(&f->im);
	assert_int_equal(
	    load_kernel(&f->gm, f->im.b, f->im.len, &f->ki, f->err), 0);
	assert_int_equal(f->ki.kind, KERNEL_BZIMAGE);

	/* Errors come from the loader that matched. */
	build_bz(&f->im);
	w16(f->im.b + 0x1fe, 0);
	assert_int_equal(
	    load_kernel(&f->gm, f->im.b, f->im.len, &f->ki, f->err), -EINVAL);
	assert_contains(f->err, "boot_flag");
	build_elf(&f->im, false);
	ehdr(&f->im)->e_machine = EM_ARM;
	assert_int_equal(
	    load_kernel(&f->gm, f->im.b, f->im.len, &f->ki, f->err), -EINVAL);
	assert_contains(f->err, "e_machine");

	memset(f->im.b, 0, 0x1000);
	assert_int_equal(load_kernel(&f->gm, f->im.b, 0x1000, &f->ki, f->err),
			 -EINVAL);
	assert_contains(f->err, "not a kernel image");
	assert_int_equal(load_kernel(&f->gm,
				     (const uint8_t *)"\x7f"
						      "EL",
				     3, &f->ki, f->err),
			 -EINVAL);
	assert_contains(f->err, "not a kernel image");
	assert_int_equal(load_kernel(&f->gm, f->im.b, 0, &f->ki, f->err),
			 -EINVAL);
	/* ELF magic but only 4 bytes: the ELF loader says it is truncated. */
	assert_int_equal(
	    load_kernel(&f->gm, (const uint8_t *)ELFMAG, 4, &f->ki, f->err),
	    -EINVAL);
	assert_contains(f->err, "ELF header");
}

static void test_initrd(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[3 * 4096 + 17];
	uint64_t gpa = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	build_elf(&f->im, false);
	elf_expect(f, 0, NULL);

	/* Top of low RAM, page aligned. */
	assert_int_equal(
	    load_initrd(&f->gm, &f->ki, data, sizeof(data), &gpa, f->err), 0);
	assert_int_equal(gpa, ALIGN_DOWN(64 * MiB - sizeof(data), 4096));
	assert_int_equal(gpa, 64 * MiB - 4 * 4096);
	assert_memory_equal(f->gm.base + gpa, data, sizeof(data));

	/* Exactly one page fits flush against the top. */
	assert_int_equal(load_initrd(&f->gm, &f->ki, data, 4096, &gpa, f->err),
			 0);
	assert_int_equal(gpa, 64 * MiB - 4096);

	/* initrd_max below the end of RAM (bzImage initrd_addr_max). */
	struct kernel_info ki = f->ki;

	ki.initrd_max = 32 * MiB;
	assert_int_equal(
	    load_initrd(&f->gm, &ki, data, sizeof(data), &gpa, f->err), 0);
	assert_int_equal(gpa, 32 * MiB - 4 * 4096);
	assert_memory_equal(f->gm.base + gpa, data, sizeof(data));

	/* Too big for RAM, or overlapping the kernel. */
	memset(f->err, 0, sizeof(f->err));
	gpa = 0x1234;
	assert_int_equal(
	    load_initrd(&f->gm, &f->ki, data, 128 * MiB, &gpa, f->err), -EFBIG);
	assert_contains(f->err, "initrd");
	assert_contains(f->err, "does not fit");
	assert_contains(f->err, "--mem");
	assert_int_equal(gpa, 0x1234);
	ki = f->ki;
	ki.load_end = 64 * MiB - 4096;
	assert_int_equal(load_initrd(&f->gm, &ki, data, 4097, &gpa, f->err),
			 -EFBIG);
	assert_contains(f->err, "(4097 bytes)");
	assert_int_equal(load_initrd(&f->gm, &ki, data, 4096, &gpa, f->err), 0);
	assert_int_equal(gpa, 64 * MiB - 4096);
	assert_int_equal(
	    load_initrd(&f->gm, &f->ki, data, SIZE_MAX, &gpa, f->err), -EFBIG);
}

/* The initrd goes in low RAM even when RAM continues above 4 GiB. */
static void test_initrd_high_ram(void **state)
{
	struct guest_mem gm;
	struct kernel_info ki = {.load_end = 2 * MiB,
				 .initrd_max = MMIO_GAP_START};
	uint8_t data[100] = {1, 2, 3};
	char err[LOADER_ERR_LEN];
	uint64_t gpa = 0;

	(void)state;
	assert_int_equal(gm_create_fake(&gm, 4ULL << 30), 0);
	assert_int_equal(load_initrd(&gm, &ki, data, sizeof(data), &gpa, err),
			 0);
	assert_int_equal(gpa, MMIO_GAP_START - 4096);
	assert_int_equal(gm.base[MMIO_GAP_START - 4096 + 2], 3);
	gm_destroy(&gm);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_elf_valid),
	    T(test_elf_linux_note),
	    T(test_elf_entry_8byte_note_and_two_segments),
	    T(test_elf_truncated),
	    T(test_elf_bad_ident),
	    T(test_elf_no_pvh_note),
	    T(test_elf_bad_notes),
	    T(test_elf_segment_placement),
	    T(test_elf_entry_outside),
	    T(test_bz_valid),
	    T(test_bz_truncated),
	    T(test_bz_bad_header),
	    T(test_bz_too_big),
	    T(test_bz_not_relocatable),
	    T(test_load_kernel_dispatch),
	    T(test_initrd),
	    cmocka_unit_test(test_initrd_high_ram),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
