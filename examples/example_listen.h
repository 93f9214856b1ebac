/* Shared by the example servers: a listening socket on 127.0.0.1. */
#ifndef MOSS_EXAMPLE_LISTEN_H
#define MOSS_EXAMPLE_LISTEN_H

#include <moss.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Listens on 127.0.0.1:port (0: any free port) and prints
 * "listening on 127.0.0.1:PORT" with the port it got. -1 on failure, with
 * the reason printed under the program's name. */
static int example_listen(const char *program, unsigned port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof(addr);
    int one = 1, fd = moss_socket(AF_INET, SOCK_STREAM, 0);

    if (fd == -1) {
        fprintf(stderr, "%s: socket(AF_INET): %s\n", program, strerror(errno));
        return -1;
    }
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
        bind(fd, (struct sockaddr *)&addr, len) == -1 || listen(fd, 128) == -1 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) == -1) {
        fprintf(stderr, "%s: bind/listen(127.0.0.1:%u): %s\n", program, port, strerror(errno));
        close(fd);
        return -1;
    }
    printf("listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));
    fflush(stdout);
    return fd;
}

#endif
