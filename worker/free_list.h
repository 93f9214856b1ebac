/* A bounded free list of same-sized blocks, for state that connections take
 * and give back at every request (read buffers, HTTP request state): the
 * blocks are reused instead of going back to malloc, where 16 KiB blocks
 * interleaved with small ones fragment the heap. At most max blocks are
 * kept; past that a block is destroyed. One hub's: no locking. */
#ifndef MOSS_WORKER_FREE_LIST_H
#define MOSS_WORKER_FREE_LIST_H

#include <stddef.h>

struct moss__free_list {
    void *head;                       /* each kept block's first word links the next */
    size_t count, max;
    void (*destroy)(void *block);     /* frees one block */
};

/* A kept block (its contents as they were given back), or NULL if none. */
void *moss__free_list_take(struct moss__free_list *list);

/* Keeps block, or destroys it when max are kept already. NULL is fine. */
void moss__free_list_give(struct moss__free_list *list, void *block);

/* Destroys every kept block. */
void moss__free_list_clear(struct moss__free_list *list);

#endif
