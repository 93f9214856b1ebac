/* Bounded text building without printf, for the per-request hot path
 * (response heads, the request's context): appends that stop at the
 * capacity and remember that they did. */
#ifndef MOSS_WORKER_TEXT_H
#define MOSS_WORKER_TEXT_H

#include <stddef.h>
#include <stdint.h>

struct moss__text {
    char *buf;
    size_t len, cap;                  /* buf[len] is always '\0' (cap > 0) */
    int truncated;                    /* an append did not fit: cut at cap - 1 */
};

/* Starts t on buf of cap bytes (cap > 0), empty. */
void moss__text_init(struct moss__text *t, char *buf, size_t cap);

/* Appends s (NULL appends nothing), or len bytes of s. */
void moss__text_put(struct moss__text *t, const char *s);
void moss__text_put_len(struct moss__text *t, const char *s, size_t len);

/* Appends v in decimal. */
void moss__text_put_u64(struct moss__text *t, uint64_t v);

#endif
