/* The bounded free list (free_list.h). */
#include "free_list.h"

#include <string.h>

void *moss__free_list_take(struct moss__free_list *list)
{
    void *block = list->head;

    if (block == NULL)
        return NULL;
    memcpy(&list->head, block, sizeof(void *));
    list->count--;
    return block;
}

void moss__free_list_give(struct moss__free_list *list, void *block)
{
    if (block == NULL)
        return;
    if (list->count >= list->max) {
        list->destroy(block);
        return;
    }
    memcpy(block, &list->head, sizeof(void *));
    list->head = block;
    list->count++;
}

void moss__free_list_clear(struct moss__free_list *list)
{
    void *block;

    while ((block = moss__free_list_take(list)) != NULL)
        list->destroy(block);
}
