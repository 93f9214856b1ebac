/* The scoreboard: MOSS__PROCS_MAX entries in one MAP_SHARED anonymous
 * mapping, made before the first fork so that every worker shares it with
 * the master. Entry i belongs to m->procs[i]. */
#include "supervise.h"

#include <string.h>
#include <sys/mman.h>

#define SCOREBOARD_BYTES (MOSS__PROCS_MAX * sizeof(struct moss__score))

struct moss__score *moss__scoreboard_create(void)
{
    void *board = mmap(NULL, SCOREBOARD_BYTES, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    return board == MAP_FAILED ? NULL : board;
}

void moss__scoreboard_destroy(struct moss__score *board)
{
    if (board != NULL)
        munmap(board, SCOREBOARD_BYTES);
}

/* Before a fork: the entry starts from zero, in state STARTING. No worker
 * writes it now: its last owner has been reaped. */
void moss__scoreboard_reset(struct moss__score *score)
{
    memset(score, 0, sizeof(*score));
    moss__score_set_state(score, MOSS__WORKER_STARTING);
}
