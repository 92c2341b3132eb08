/*
 * arena.h - the allocator discipline: one arena per graph, freed at once.
 *
 * kiln_arena_alloc returns zeroed, 16-byte aligned memory, or NULL when the
 * request cannot be met (size overflow or out of memory); callers treat NULL as
 * KILN_ERR_NOMEM. Setting KILN_ARENA_DEBUG=1 in the environment (or building with
 * -DKILN_ARENA_DEBUG) makes every allocation a separate malloc so that
 * AddressSanitizer sees each one's bounds.
 *
 * Size arithmetic goes through the overflow-checked helpers below.
 */
#ifndef KILN_ARENA_H
#define KILN_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kiln_arena;

struct kiln_arena *kiln_arena_new(void);
void kiln_arena_free(struct kiln_arena *a);
void *kiln_arena_alloc(struct kiln_arena *a, size_t size);
/* n elements of size each; NULL on overflow or out of memory. */
void *kiln_arena_array(struct kiln_arena *a, size_t n, size_t size);
/* Copy of an array into the arena, old contents preserved, for growing vectors. */
void *kiln_arena_grow(struct kiln_arena *a, void *old, size_t old_n, size_t new_n, size_t size);
char *kiln_arena_strdup(struct kiln_arena *a, const char *s);
char *kiln_arena_strndup(struct kiln_arena *a, const char *s, size_t n);
void *kiln_arena_memdup(struct kiln_arena *a, const void *p, size_t n);
/* Release everything allocated so far but keep the arena (scratch arenas). */
void kiln_arena_reset(struct kiln_arena *a);
size_t kiln_arena_bytes(const struct kiln_arena *a); /* bytes handed out so far */

/* Overflow-checked arithmetic: false on overflow, *out untouched then. */
static inline bool
kiln_mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool
kiln_add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline bool
kiln_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool
kiln_add_i64(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

#endif
