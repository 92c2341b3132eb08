/*
 * arena.c - bump allocator in chunks; one per graph, freed at once.
 *
 * Chunks grow geometrically (64 KiB up to 16 MiB; a larger request gets a chunk
 * of its own). In debug mode (KILN_ARENA_DEBUG compile definition, or the
 * environment variable KILN_ARENA_DEBUG=1) every allocation is its own malloc,
 * linked into a list, so AddressSanitizer sees the bounds of each one.
 */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

#define KILN_ARENA_ALIGN 16
#define KILN_ARENA_MIN_CHUNK ((size_t)64 << 10)
#define KILN_ARENA_MAX_CHUNK ((size_t)16 << 20)

struct kiln_chunk {
    struct kiln_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(KILN_ARENA_ALIGN) unsigned char mem[];
};

struct kiln_arena {
    struct kiln_chunk *chunks;
    size_t next_chunk;
    size_t handed_out;
    bool debug;
};

static bool
arena_debug_default(void)
{
#ifdef KILN_ARENA_DEBUG
    return true;
#else
    const char *e = getenv("KILN_ARENA_DEBUG");
    return e && e[0] == '1';
#endif
}

struct kiln_arena *
kiln_arena_new(void)
{
    struct kiln_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->next_chunk = KILN_ARENA_MIN_CHUNK;
    a->debug = arena_debug_default();
    return a;
}

static void
arena_free_chunks(struct kiln_arena *a)
{
    struct kiln_chunk *c = a->chunks;
    while (c) {
        struct kiln_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
}

void
kiln_arena_free(struct kiln_arena *a)
{
    if (!a)
        return;
    arena_free_chunks(a);
    free(a);
}

void
kiln_arena_reset(struct kiln_arena *a)
{
    arena_free_chunks(a);
    a->next_chunk = KILN_ARENA_MIN_CHUNK;
    a->handed_out = 0;
}

size_t
kiln_arena_bytes(const struct kiln_arena *a)
{
    return a->handed_out;
}

static struct kiln_chunk *
arena_new_chunk(struct kiln_arena *a, size_t need)
{
    size_t size = need;
    if (!a->debug && size < a->next_chunk)
        size = a->next_chunk;
    size_t total;
    if (!kiln_add_size(sizeof(struct kiln_chunk), size, &total))
        return NULL;
    struct kiln_chunk *c = malloc(total);
    if (!c)
        return NULL;
    c->size = size;
    c->used = 0;
    c->next = a->chunks;
    a->chunks = c;
    if (!a->debug && a->next_chunk < KILN_ARENA_MAX_CHUNK)
        a->next_chunk *= 2;
    return c;
}

void *
kiln_arena_alloc(struct kiln_arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    size_t rounded;
    if (!kiln_add_size(size, KILN_ARENA_ALIGN - 1, &rounded))
        return NULL;
    rounded &= ~(size_t)(KILN_ARENA_ALIGN - 1);
    struct kiln_chunk *c = a->chunks;
    if (a->debug || !c || c->size - c->used < rounded) {
        /* debug: exact size so ASan flags a one-past-the-end access */
        c = arena_new_chunk(a, a->debug ? size : rounded);
        if (!c)
            return NULL;
    }
    void *p = c->mem + c->used;
    c->used += a->debug ? size : rounded;
    a->handed_out += size;
    memset(p, 0, size);
    return p;
}

void *
kiln_arena_array(struct kiln_arena *a, size_t n, size_t size)
{
    size_t total;
    if (!kiln_mul_size(n, size, &total))
        return NULL;
    return kiln_arena_alloc(a, total);
}

void *
kiln_arena_grow(struct kiln_arena *a, void *old, size_t old_n, size_t new_n, size_t size)
{
    void *p = kiln_arena_array(a, new_n, size);
    if (p && old && old_n)
        memcpy(p, old, (old_n < new_n ? old_n : new_n) * size);
    return p;
}

char *
kiln_arena_strndup(struct kiln_arena *a, const char *s, size_t n)
{
    size_t total;
    if (!kiln_add_size(n, 1, &total))
        return NULL;
    char *p = kiln_arena_alloc(a, total);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

char *
kiln_arena_strdup(struct kiln_arena *a, const char *s)
{
    return kiln_arena_strndup(a, s, strlen(s));
}

void *
kiln_arena_memdup(struct kiln_arena *a, const void *p, size_t n)
{
    void *q = kiln_arena_alloc(a, n);
    if (q && n)
        memcpy(q, p, n);
    return q;
}
