/* The buffered reader: lines across reads, deadlines, lines too long, and
 * raw reads mixed with lines. */
#include "harness.h"
#include "moss.h"
#include "io_cases.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* ---- the buffered reader ------------------------------------------------- */

/* Writes each piece, with a pause between, then ends the stream. */
struct pieces {
    int fd;
    const char *piece[8]; /* NULL-terminated */
};

static void *write_pieces_run(void *arg)
{
    struct pieces *p = arg;

    for (int i = 0; p->piece[i] != NULL; i++) {
        TEST_ASSERT(moss_sleep(5) == 0);
        TEST_ASSERT(moss_write(p->fd, p->piece[i], strlen(p->piece[i]), io_soon()) ==
                    (ptrdiff_t)strlen(p->piece[i]));
    }
    TEST_ASSERT(shutdown(p->fd, SHUT_WR) == 0);
    return NULL;
}

static void expect_line(moss_reader_t *r, const char *want)
{
    const char *line = NULL;
    ptrdiff_t n = moss_reader_line(r, &line, io_soon());

    TEST_ASSERT(n == (ptrdiff_t)strlen(want));
    TEST_ASSERT(memcmp(line, want, strlen(want)) == 0);
}

void io_case_reader_lines_across_reads(void)
{
    int sv[2];
    struct pieces p = {.piece = {"hel", "lo\nwor", "ld\n\nlast", NULL}};
    moss_reader_t *r;
    const char *line;
    moss_greenlet_t *g;

    io_make_pair(sv);
    p.fd = sv[1];
    r = moss_reader_new(sv[0], 8); /* small: forces compaction */
    TEST_ASSERT(r != NULL);
    g = moss_spawn(write_pieces_run, &p);
    expect_line(r, "hello\n");
    expect_line(r, "world\n");
    expect_line(r, "\n");
    expect_line(r, "last"); /* no '\n' at end of file */
    TEST_ASSERT(moss_reader_line(r, &line, io_soon()) == 0);
    TEST_ASSERT(moss_reader_line(r, &line, io_soon()) == 0);
    TEST_ASSERT(moss_join(g, io_soon(), NULL) == 0);
    moss_reader_free(r);
    io_close_pair(sv);
}

void io_case_reader_deadline_keeps_partial_line(void)
{
    int sv[2];
    moss_reader_t *r;
    const char *line;

    io_make_pair(sv);
    r = moss_reader_new(sv[0], 64);
    TEST_ASSERT(r != NULL);
    TEST_ASSERT(moss_write(sv[1], "abc", 3, io_soon()) == 3);
    TEST_ASSERT(moss_reader_line(r, &line, moss_now() + 30) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_write(sv[1], "def\n", 4, io_soon()) == 4);
    expect_line(r, "abcdef\n");
    moss_reader_free(r);
    io_close_pair(sv);
}

void io_case_reader_line_too_long(void)
{
    int sv[2];
    moss_reader_t *r;
    const char *line;
    char buf[16];
    const char *text = "0123456\n0123456789\nok\n";

    TEST_ASSERT(moss_reader_new(0, 0) == NULL && errno == EINVAL);
    TEST_ASSERT(moss_reader_new(0, ((size_t)64 << 20) + 1) == NULL && errno == EINVAL);
    TEST_ASSERT(moss_reader_new(0, SIZE_MAX) == NULL && errno == EINVAL);
    io_make_pair(sv);
    r = moss_reader_new(sv[0], 8);
    TEST_ASSERT(r != NULL);
    TEST_ASSERT(moss_write(sv[1], text, strlen(text), io_soon()) == (ptrdiff_t)strlen(text));
    expect_line(r, "0123456\n"); /* exactly the capacity: fits */
    TEST_ASSERT(moss_reader_line(r, &line, io_soon()) == -1 && errno == EMSGSIZE);
    TEST_ASSERT(moss_reader_line(r, &line, io_soon()) == -1 && errno == EMSGSIZE);
    TEST_ASSERT(moss_reader_read(r, buf, sizeof(buf), io_soon()) == 8); /* drains it */
    TEST_ASSERT(memcmp(buf, "01234567", 8) == 0);
    expect_line(r, "89\n");
    expect_line(r, "ok\n");
    moss_reader_free(r);
    io_close_pair(sv);
}

void io_case_reader_read_mixes_with_lines(void)
{
    int sv[2];
    moss_reader_t *r;
    const char *line;
    char buf[128];
    static char bulk[100];

    io_make_pair(sv);
    r = moss_reader_new(sv[0], 16);
    TEST_ASSERT(r != NULL);
    TEST_ASSERT(moss_write(sv[1], "line1\nRAW line2\n", 16, io_soon()) == 16);
    expect_line(r, "line1\n");
    TEST_ASSERT(moss_reader_read(r, buf, 3, io_soon()) == 3 && memcmp(buf, "RAW", 3) == 0);
    expect_line(r, " line2\n");
    memset(bulk, 'b', sizeof(bulk));
    TEST_ASSERT(moss_write(sv[1], bulk, sizeof(bulk), io_soon()) == (ptrdiff_t)sizeof(bulk));
    /* empty buffer, large read: straight from the fd */
    TEST_ASSERT(moss_reader_read(r, buf, 64, io_soon()) == 64);
    TEST_ASSERT(moss_reader_read(r, buf, 5, io_soon()) == 5); /* through the buffer */
    TEST_ASSERT(moss_reader_read(r, buf, sizeof(buf), io_soon()) == 11); /* what it held */
    TEST_ASSERT(moss_reader_read(r, buf, sizeof(buf), io_soon()) == 20); /* the rest */
    TEST_ASSERT(buf[0] == 'b' && buf[19] == 'b');
    TEST_ASSERT(shutdown(sv[1], SHUT_WR) == 0);
    TEST_ASSERT(moss_reader_read(r, buf, sizeof(buf), io_soon()) == 0);
    TEST_ASSERT(moss_reader_line(r, &line, io_soon()) == 0);
    moss_reader_free(r);
    io_close_pair(sv);
}
