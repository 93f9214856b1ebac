/* moss_reader: a buffered reader over an fd, for lines and for reads that
 * come out of a buffer filled with moss_read. The buffer is allocated with
 * the struct and never grows, so its capacity bounds a line. */
#include "io.h"

#include "moss.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The largest capacity accepted: beyond it, a capacity is taken for a
 * mistake (a negative length cast to size_t, ...), not a line bound. */
#define READER_CAPACITY_MAX ((size_t)64 << 20)

struct moss_reader {
    int fd;                 /* not owned: moss_reader_free leaves it open */
    size_t capacity;
    size_t start;           /* the first byte not yet handed out */
    size_t end;             /* one past the last byte buffered */
    size_t scanned;         /* bytes from start known to hold no '\n' */
    char buf[];
};

moss_reader_t *moss_reader_new(int fd, size_t capacity)
{
    moss_reader_t *r;

    if (capacity == 0 || capacity > READER_CAPACITY_MAX) {
        errno = EINVAL;
        return NULL;
    }
    if (fd < 0) {
        errno = EBADF;
        return NULL;
    }
    r = malloc(sizeof(*r) + capacity);
    if (r == NULL)
        return NULL;
    *r = (struct moss_reader){.fd = fd, .capacity = capacity};
    return r;
}

void moss_reader_free(moss_reader_t *r)
{
    free(r);
}

/* Hands out n buffered bytes. An emptied buffer starts over at its front;
 * the bytes stay where they are, so what was handed out stays valid until
 * the next fill. */
static void reader_consume(moss_reader_t *r, size_t n)
{
    r->start += n;
    r->scanned = r->scanned > n ? r->scanned - n : 0;
    if (r->start == r->end)
        r->start = r->end = 0;
}

/* Reads more into the free tail of the buffer, first moving the pending
 * bytes to the front if the tail is full. Bytes read, 0 at end of file, -1
 * with errno (the buffered bytes are kept). */
static ptrdiff_t reader_fill(moss_reader_t *r, int64_t deadline)
{
    ptrdiff_t n;

    if (r->end == r->capacity && r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    n = moss_read(r->fd, r->buf + r->end, r->capacity - r->end, deadline);
    if (n > 0)
        r->end += (size_t)n;
    return n;
}

ptrdiff_t moss_reader_read(moss_reader_t *r, void *buf, size_t len, int64_t deadline)
{
    size_t avail;

    if (moss__io_enter() == -1)
        return -1;
    if (len == 0)
        return 0;
    if (r->start == r->end) {
        ptrdiff_t n;

        /* nothing buffered and a read at least as large as the buffer: the
         * copy would buy nothing */
        if (len >= r->capacity)
            return moss_read(r->fd, buf, len, deadline);
        n = reader_fill(r, deadline);
        if (n <= 0)
            return n;
    }
    avail = r->end - r->start;
    if (avail > len)
        avail = len;
    memcpy(buf, r->buf + r->start, avail);
    reader_consume(r, avail);
    return (ptrdiff_t)avail;
}

static ptrdiff_t reader_take_line(moss_reader_t *r, const char **line, size_t len)
{
    *line = r->buf + r->start;
    reader_consume(r, len);
    return (ptrdiff_t)len;
}

/* A line that does not fit (EMSGSIZE) stays buffered: moss_reader_read
 * drains it, and a later moss_reader_line fails the same way until then. */
ptrdiff_t moss_reader_line(moss_reader_t *r, const char **line, int64_t deadline)
{
    if (moss__io_enter() == -1)
        return -1;
    for (;;) {
        size_t avail = r->end - r->start;
        const char *from = r->buf + r->start;
        const char *nl = memchr(from + r->scanned, '\n', avail - r->scanned);
        ptrdiff_t n;

        if (nl != NULL)
            return reader_take_line(r, line, (size_t)(nl - from) + 1);
        r->scanned = avail;
        if (avail == r->capacity) {
            errno = EMSGSIZE;
            return -1;
        }
        n = reader_fill(r, deadline);
        if (n == -1)
            return -1;
        if (n == 0)
            return reader_take_line(r, line, avail); /* the last line, or 0 */
    }
}
