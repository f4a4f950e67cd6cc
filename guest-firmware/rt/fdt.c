/* SPDX-License-Identifier: MIT */
/*
 * Minimal read-only flattened device tree walker. Every access is checked
 * against the header's totalsize and the structure block bounds; a malformed
 * blob makes lookups fail, never read out of bounds.
 */
#include "rt.h"

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9
#define FDT_MAX_SIZE (1u << 20)

struct fdt_view {
	const uint8_t *base;
	uint32_t struct_off, struct_end; /* [off, end) of the structure block */
	uint32_t strings_off, strings_size;
};

static bool fdt_view(const void *fdt, struct fdt_view *v)
{
	const uint8_t *b = fdt;
	uint32_t total, so, ss, stro, strs;

	if (!b || fdt32(b) != FDT_MAGIC)
		return false;
	total = fdt32(b + 4);
	so = fdt32(b + 8);
	stro = fdt32(b + 12);
	if (total < 40 || total > FDT_MAX_SIZE || fdt32(b + 20) < 16)
		return false;
	ss = fdt32(b + 36); /* size_dt_struct: version >= 17 */
	strs = fdt32(b + 32);
	if (so > total || ss > total - so || stro > total || strs > total - stro || (so & 3))
		return false;
	v->base = b;
	v->struct_off = so;
	v->struct_end = so + ss;
	v->strings_off = stro;
	v->strings_size = strs;
	return true;
}

bool fdt_check(const void *fdt)
{
	struct fdt_view v;

	return fdt_view(fdt, &v);
}

static bool tok_at(const struct fdt_view *v, uint32_t off, uint32_t *tok)
{
	if (off < v->struct_off || off > v->struct_end - 4 || v->struct_end < 4)
		return false;
	*tok = fdt32(v->base + off);
	return true;
}

/* Offset just past the NUL-terminated string at off (4-aligned), or 0. */
static uint32_t skip_name(const struct fdt_view *v, uint32_t off)
{
	uint32_t end = v->struct_end;

	while (off < end && v->base[off])
		off++;
	if (off >= end)
		return 0;
	return (off + 1 + 3) & ~3u;
}

/*
 * Step over one token at off. Returns the next token offset (0 on error) and
 * the token in *tok. Depth changes are the caller's business.
 */
static uint32_t next_tok(const struct fdt_view *v, uint32_t off, uint32_t *tok)
{
	uint32_t len;

	if (!tok_at(v, off, tok))
		return 0;
	switch (*tok) {
	case FDT_BEGIN_NODE:
		return skip_name(v, off + 4);
	case FDT_PROP:
		if (off + 12 > v->struct_end)
			return 0;
		len = fdt32(v->base + off + 4);
		if (len > v->struct_end - off - 12)
			return 0;
		return (off + 12 + len + 3) & ~3u;
	case FDT_END_NODE:
	case FDT_NOP:
		return off + 4;
	default: /* FDT_END or garbage */
		return 0;
	}
}

/* Node offsets handed out are structure offsets of FDT_BEGIN_NODE tokens. */
static bool is_node(const struct fdt_view *v, int node)
{
	uint32_t tok;

	return node >= 0 && tok_at(v, (uint32_t)node, &tok) && tok == FDT_BEGIN_NODE;
}

/* First child node after the properties of `node`, or -1. */
int fdt_first_subnode(const void *fdt, int node)
{
	struct fdt_view v;
	uint32_t off, tok;

	if (!fdt_view(fdt, &v) || !is_node(&v, node))
		return -1;
	off = next_tok(&v, (uint32_t)node, &tok);
	while (off) {
		uint32_t cur = off;

		off = next_tok(&v, cur, &tok);
		if (!off)
			return -1;
		if (tok == FDT_BEGIN_NODE)
			return (int)cur;
		if (tok == FDT_END_NODE)
			return -1;
	}
	return -1;
}

/* Sibling after `node` (skipping its whole subtree), or -1. */
int fdt_next_subnode(const void *fdt, int node)
{
	struct fdt_view v;
	uint32_t off, tok;
	int depth = 0;

	if (!fdt_view(fdt, &v) || !is_node(&v, node))
		return -1;
	off = (uint32_t)node;
	do { /* skip the subtree */
		off = next_tok(&v, off, &tok);
		if (!off)
			return -1;
		if (tok == FDT_BEGIN_NODE)
			depth++;
		else if (tok == FDT_END_NODE)
			depth--;
	} while (depth > 0);
	for (;;) {
		uint32_t cur = off;

		off = next_tok(&v, cur, &tok);
		if (!off)
			return -1;
		if (tok == FDT_BEGIN_NODE)
			return (int)cur;
		if (tok == FDT_END_NODE)
			return -1;
	}
}

const char *fdt_get_name(const void *fdt, int node)
{
	struct fdt_view v;

	if (!fdt_view(fdt, &v) || !is_node(&v, node) || !skip_name(&v, (uint32_t)node + 4))
		return NULL;
	return (const char *)v.base + node + 4;
}

const void *fdt_getprop(const void *fdt, int node, const char *name, int *len)
{
	struct fdt_view v;
	uint32_t off, tok;

	if (!fdt_view(fdt, &v) || !is_node(&v, node))
		return NULL;
	off = next_tok(&v, (uint32_t)node, &tok);
	while (off) {
		uint32_t cur = off, plen, nameoff;

		off = next_tok(&v, cur, &tok);
		if (!off || tok == FDT_BEGIN_NODE || tok == FDT_END_NODE)
			return NULL;
		if (tok != FDT_PROP)
			continue;
		plen = fdt32(v.base + cur + 4);
		nameoff = fdt32(v.base + cur + 8);
		if (nameoff >= v.strings_size)
			return NULL;
		const char *pn = (const char *)v.base + v.strings_off + nameoff;
		size_t room = v.strings_size - nameoff;
		size_t nl = strlen(name);

		if (nl < room && !memcmp(pn, name, nl + 1)) {
			if (len)
				*len = (int)plen;
			return v.base + cur + 12;
		}
	}
	return NULL;
}

bool fdt_getprop_u32(const void *fdt, int node, const char *name, uint32_t *out)
{
	int len;
	const void *p = fdt_getprop(fdt, node, name, &len);

	if (!p || len < 4)
		return false;
	*out = fdt32(p);
	return true;
}

/* Does `name` ("serial@3f8") match path component [c, c+n)? */
static bool name_matches(const char *name, const char *c, size_t n)
{
	if (strncmp(name, c, n))
		return false;
	if (name[n] == '\0')
		return true;
	if (name[n] != '@')
		return false;
	for (size_t i = 0; i < n; i++) /* "serial" matches "serial@3f8" */
		if (c[i] == '@')
			return false;
	return true;
}

int fdt_path_offset(const void *fdt, const char *path)
{
	struct fdt_view v;
	int node;

	if (!fdt_view(fdt, &v) || !path || path[0] != '/')
		return -1;
	node = (int)v.struct_off;
	if (!is_node(&v, node))
		return -1;
	while (*path) {
		const char *c;
		size_t n;

		while (*path == '/')
			path++;
		if (!*path)
			break;
		c = path;
		while (*path && *path != '/')
			path++;
		n = (size_t)(path - c);
		for (node = fdt_first_subnode(fdt, node); node >= 0; node = fdt_next_subnode(fdt, node)) {
			const char *nm = fdt_get_name(fdt, node);

			if (nm && name_matches(nm, c, n))
				break;
		}
		if (node < 0)
			return -1;
	}
	return node;
}

bool fdt_node_is_compatible(const void *fdt, int node, const char *compat)
{
	int len;
	const char *p = fdt_getprop(fdt, node, "compatible", &len);
	size_t cl = strlen(compat);

	if (!p)
		return false;
	while (len > 0) { /* a list of NUL-terminated strings */
		size_t sl = strnlen(p, (size_t)len);

		if (sl == cl && !memcmp(p, compat, cl))
			return true;
		len -= (int)sl + 1;
		p += sl + 1;
	}
	return false;
}

int fdt_next_compatible(const void *fdt, int prev, const char *compat)
{
	struct fdt_view v;
	uint32_t off, tok;

	if (!fdt_view(fdt, &v))
		return -1;
	if (prev < 0) {
		off = v.struct_off;
	} else {
		if (!is_node(&v, prev))
			return -1;
		off = next_tok(&v, (uint32_t)prev, &tok);
	}
	while (off) {
		uint32_t cur = off;

		off = next_tok(&v, cur, &tok);
		if (off && tok == FDT_BEGIN_NODE && fdt_node_is_compatible(fdt, (int)cur, compat))
			return (int)cur;
	}
	return -1;
}

bool fdt_get_reg(const void *fdt, int node, int idx, uint64_t *addr, uint64_t *size)
{
	struct fdt_view v;
	uint32_t ac = 2, sc = 2;
	int len;
	const uint8_t *p;

	if (!fdt_view(fdt, &v))
		return false;
	fdt_getprop_u32(fdt, (int)v.struct_off, "#address-cells", &ac);
	fdt_getprop_u32(fdt, (int)v.struct_off, "#size-cells", &sc);
	if (ac < 1 || ac > 2 || sc > 2 || idx < 0)
		return false;
	p = fdt_getprop(fdt, node, "reg", &len);
	if (!p || (uint32_t)len / (4 * (ac + sc)) <= (uint32_t)idx)
		return false;
	p += (size_t)idx * 4 * (ac + sc);
	*addr = ac == 2 ? (uint64_t)fdt32(p) << 32 | fdt32(p + 4) : fdt32(p);
	p += 4 * ac;
	if (size)
		*size = sc == 2 ? (uint64_t)fdt32(p) << 32 | fdt32(p + 4) : sc == 1 ? fdt32(p) : 0;
	return true;
}
