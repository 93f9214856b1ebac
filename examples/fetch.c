/* The concurrent fetcher from the gevent talks: many URLs, a pool of
 * greenlets, each fetch written as blocking code.
 *
 *   fetch http://HOST:PORT/PREFIX COUNT CONCURRENCY
 *
 * Fetches PREFIX0 .. PREFIX<COUNT-1> with HTTP/1.0 GET, at most CONCURRENCY
 * at once, resolving HOST without blocking the hub. Prints one line,
 * "fetched COUNT: ok=N failed=N bytes=N", and exits 0 only if every fetch
 * answered 200. */
#include <moss.h>

#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FETCH_TIMEOUT_MS 10000
#define FETCH_RESPONSE_MAX (64 * 1024)
#define FETCH_COUNT_MAX 100000

struct fetch_job {
    char host[256], port[16], path[512];
    struct addrinfo *address;
    unsigned ok, failed;
    uint64_t bytes;
};

static struct fetch_job job;

/* Sends the request and reads the whole response into buf; its length. */
static ptrdiff_t fetch_exchange(int fd, unsigned index, char *buf, size_t cap, int64_t deadline)
{
    char request[1024];
    int len = snprintf(request, sizeof(request), "GET %s%u HTTP/1.0\r\nHost: %s\r\n\r\n",
                       job.path, index, job.host);
    size_t got = 0;
    ptrdiff_t n;

    if (moss_write(fd, request, (size_t)len, deadline) == -1)
        return -1;
    while (got < cap && (n = moss_read(fd, buf + got, cap - got, deadline)) > 0)
        got += (size_t)n;
    return n == -1 ? -1 : (ptrdiff_t)got;
}

static void *fetch_one(void *arg)
{
    unsigned index = (unsigned)(uintptr_t)arg;
    int64_t deadline = moss_now() + FETCH_TIMEOUT_MS;
    char *own = malloc(FETCH_RESPONSE_MAX);
    int fd = moss_socket(job.address->ai_family, SOCK_STREAM, 0);
    ptrdiff_t n = -1;

    if (own != NULL && fd != -1 &&
        moss_connect(fd, job.address->ai_addr, job.address->ai_addrlen, deadline) == 0)
        n = fetch_exchange(fd, index, own, FETCH_RESPONSE_MAX, deadline);
    if (n > 12 && (strncmp(own, "HTTP/1.0 200", 12) == 0 || strncmp(own, "HTTP/1.1 200", 12) == 0)) {
        job.ok++;
        job.bytes += (uint64_t)n;
    } else {
        job.failed++;
        fprintf(stderr, "fetch: %s%u: %s\n", job.path, index, n == -1 ? strerror(errno) : "not 200");
    }
    if (fd != -1)
        moss_close(fd);
    free(own);
    return NULL;
}

static int fetch_parse_url(const char *url)
{
    if (sscanf(url, "http://%255[^:/]:%15[0-9]%511s", job.host, job.port, job.path) != 3) {
        fprintf(stderr, "fetch: '%s': expected http://HOST:PORT/PATH\n", url);
        return -1;
    }
    return 0;
}

static int fetch_resolve(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = moss_getaddrinfo(job.host, job.port, &hints, &job.address,
                              moss_now() + FETCH_TIMEOUT_MS);

    if (rc != 0) {
        fprintf(stderr, "fetch: getaddrinfo(%s): %s\n", job.host, gai_strerror(rc));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long count = argc == 4 ? strtoul(argv[2], NULL, 10) : 0;
    unsigned long concurrency = argc == 4 ? strtoul(argv[3], NULL, 10) : 0;
    moss_pool_t *pool;

    if (count == 0 || count > FETCH_COUNT_MAX || concurrency == 0 || concurrency > count) {
        fprintf(stderr, "usage: fetch http://HOST:PORT/PREFIX COUNT(1-%d) CONCURRENCY(1-COUNT)\n",
                FETCH_COUNT_MAX);
        return 2;
    }
    if (fetch_parse_url(argv[1]) == -1 || fetch_resolve() == -1)
        return 1;
    pool = moss_pool_new(concurrency);
    if (pool == NULL)
        return 1;
    for (unsigned long i = 0; i < count; i++) {
        if (moss_pool_spawn(pool, fetch_one, (void *)(uintptr_t)i, MOSS_FOREVER) == -1)
            job.failed++;
    }
    moss_pool_join(pool, MOSS_FOREVER);
    moss_pool_free(pool);
    freeaddrinfo(job.address);
    printf("fetched %lu: ok=%u failed=%u bytes=%llu\n", count, job.ok, job.failed,
           (unsigned long long)job.bytes);
    return job.failed == 0 ? 0 : 1;
}
