/* Bounded text building (text.h). */
#include "text.h"

#include <string.h>

void moss__text_init(struct moss__text *t, char *buf, size_t cap)
{
    t->buf = buf;
    t->len = 0;
    t->cap = cap;
    t->truncated = 0;
    buf[0] = '\0';
}

void moss__text_put_len(struct moss__text *t, const char *s, size_t len)
{
    size_t room = t->cap - 1 - t->len;

    if (len > room) {
        len = room;
        t->truncated = 1;
    }
    memcpy(t->buf + t->len, s, len);
    t->len += len;
    t->buf[t->len] = '\0';
}

void moss__text_put(struct moss__text *t, const char *s)
{
    if (s != NULL)
        moss__text_put_len(t, s, strlen(s));
}

void moss__text_put_u64(struct moss__text *t, uint64_t v)
{
    char digits[20];
    size_t i = sizeof(digits);

    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    moss__text_put_len(t, digits + i, sizeof(digits) - i);
}
