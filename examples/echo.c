/* The echo server from the gevent talks: one greenlet per connection, each
 * written as plain blocking code.
 *
 *   echo [PORT]     listen on 127.0.0.1:PORT (0 or none: any free port)
 *
 * It prints "listening on 127.0.0.1:PORT" once it accepts, then echoes every
 * connection's bytes back until the client closes. A pool bounds the
 * connections served at once; accepting waits while the pool is full. */
#include "example_listen.h"

#include <moss.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ECHO_CONNECTIONS_MAX 1000
#define ECHO_IDLE_MS 60000

static void *echo_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    ptrdiff_t n;

    while ((n = moss_read(fd, buf, sizeof(buf), moss_now() + ECHO_IDLE_MS)) > 0) {
        if (moss_write(fd, buf, (size_t)n, moss_now() + ECHO_IDLE_MS) == -1)
            break;
    }
    moss_close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    unsigned port = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
    moss_pool_t *pool = moss_pool_new(ECHO_CONNECTIONS_MAX);
    int listener = example_listen("echo", port);

    if (listener == -1 || pool == NULL)
        return 1;
    for (;;) {
        int fd = moss_accept(listener, NULL, NULL, MOSS_FOREVER);

        if (fd == -1) {
            fprintf(stderr, "echo: accept(127.0.0.1): %s\n", strerror(errno));
            moss_sleep(100); /* EMFILE and the like: back off, do not spin */
            continue;
        }
        if (moss_pool_spawn(pool, echo_connection, (void *)(intptr_t)fd, MOSS_FOREVER) == -1) {
            fprintf(stderr, "echo: spawn: %s\n", strerror(errno));
            moss_close(fd);
        }
    }
}
