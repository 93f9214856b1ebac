/* The chat server from the gevent talks. Every user has a reader greenlet,
 * which reads lines and broadcasts them, and a writer greenlet, which sends
 * what lands in the user's own queue. A user too slow to keep up (queue
 * full) is disconnected rather than allowed to grow memory or stall others.
 *
 *   chat [PORT]     listen on 127.0.0.1:PORT (0 or none: any free port)
 *
 * Prints "listening on 127.0.0.1:PORT". Each user is named user-N; a line
 * "hi" from user-1 reaches every other user as "user-1: hi\n". */
#include "example_listen.h"

#include <moss.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CHAT_USERS_MAX 256
#define CHAT_QUEUE_MAX 64     /* messages waiting for one user */
#define CHAT_LINE_MAX 1024

struct chat_user {
    int fd;
    unsigned number;
    moss_queue_t *outbox;     /* of malloc'd strings, owned by the queue until taken */
    moss_greenlet_t *writer;
};

static struct chat_user *chat_users[CHAT_USERS_MAX];
static unsigned chat_next_number = 1;

/* Queues a copy of text for every user but `from`, without waiting: a full
 * outbox means that user is too slow, and it is dropped. */
static void chat_broadcast(const struct chat_user *from, const char *text)
{
    for (int i = 0; i < CHAT_USERS_MAX; i++) {
        struct chat_user *u = chat_users[i];
        char *copy;

        if (u == NULL || u == from)
            continue;
        copy = strdup(text);
        if (copy == NULL || moss_queue_put(u->outbox, copy, 0, moss_now()) == -1) {
            free(copy);
            moss_kill(u->writer); /* its reader sees the close and cleans up */
            shutdown(u->fd, SHUT_RDWR);
        }
    }
}

static void *chat_writer(void *arg)
{
    struct chat_user *u = arg;
    void *item;

    while (moss_queue_get(u->outbox, &item, MOSS_FOREVER) == 0) {
        ptrdiff_t n = moss_write(u->fd, item, strlen(item), moss_now() + 10000);

        free(item);
        if (n == -1)
            break;
    }
    shutdown(u->fd, SHUT_RDWR); /* wakes the reader, which owns the user */
    return NULL;
}

static void chat_relay_lines(struct chat_user *u)
{
    moss_reader_t *r = moss_reader_new(u->fd, CHAT_LINE_MAX);
    char text[CHAT_LINE_MAX + 32];
    const char *line;
    ptrdiff_t n;

    if (r == NULL)
        return;
    while ((n = moss_reader_line(r, &line, MOSS_FOREVER)) > 0) {
        int len = (int)(line[n - 1] == '\n' ? n - 1 : n);

        snprintf(text, sizeof(text), "user-%u: %.*s\n", u->number, len, line);
        chat_broadcast(u, text);
    }
    moss_reader_free(r);
}

static void chat_user_leave(int slot, struct chat_user *u)
{
    void *item;

    chat_users[slot] = NULL;
    moss_kill(u->writer);
    moss_join(u->writer, MOSS_FOREVER, NULL);
    while (moss_queue_get(u->outbox, &item, moss_now()) == 0)
        free(item);
    moss_queue_free(u->outbox);
    moss_close(u->fd);
    free(u);
}

/* The reader greenlet: owns the user from join to leave. */
static void *chat_session(void *arg)
{
    struct chat_user *u = arg;
    int slot = 0;

    while (slot < CHAT_USERS_MAX && chat_users[slot] != u)
        slot++;
    u->writer = moss_spawn(chat_writer, u);
    if (u->writer == NULL) {
        chat_users[slot] = NULL;
        moss_queue_free(u->outbox);
        moss_close(u->fd);
        free(u);
        return NULL;
    }
    chat_relay_lines(u);
    chat_user_leave(slot, u);
    return NULL;
}

static void chat_admit(int fd)
{
    char text[64];
    struct chat_user *u;
    int slot = 0;

    while (slot < CHAT_USERS_MAX && chat_users[slot] != NULL)
        slot++;
    u = slot < CHAT_USERS_MAX ? calloc(1, sizeof(*u)) : NULL;
    if (u == NULL || (u->outbox = moss_queue_new(CHAT_QUEUE_MAX, MOSS_QUEUE_FIFO)) == NULL) {
        moss_write(fd, "* server full\n", 14, moss_now() + 1000);
        moss_close(fd);
        free(u);
        return;
    }
    u->fd = fd;
    u->number = chat_next_number++;
    snprintf(text, sizeof(text), "* user-%u joined\n", u->number);
    chat_broadcast(u, text); /* before joining: only those already here hear it */
    chat_users[slot] = u;
    if (moss_detach(moss_spawn(chat_session, u)) == -1) {
        chat_users[slot] = NULL;
        moss_queue_free(u->outbox);
        moss_close(fd);
        free(u);
    }
}

int main(int argc, char **argv)
{
    int listener = example_listen("chat", argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 0);

    if (listener == -1)
        return 1;
    for (;;) {
        int fd = moss_accept(listener, NULL, NULL, MOSS_FOREVER);

        if (fd == -1) {
            fprintf(stderr, "chat: accept(127.0.0.1): %s\n", strerror(errno));
            moss_sleep(100);
            continue;
        }
        chat_admit(fd);
    }
}
