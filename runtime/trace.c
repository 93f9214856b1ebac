/* Switch-trace hooks and the switch monitor published for other threads. */
#include "greenlet.h"

moss_trace_t moss_settrace(moss_trace_fn fn, void *arg)
{
    struct moss__thread *t = moss__thread_get();
    moss_trace_t previous = {0};

    if (t == NULL)
        return previous;
    previous = t->trace;
    t->trace.fn = fn;
    t->trace.arg = fn != NULL ? arg : NULL;
    return previous;
}

void moss__trace_call(struct moss__thread *t, moss_trace_event_t event,
                      moss_greenlet_t *origin, moss_greenlet_t *target)
{
    t->trace.fn(event, origin, target, t->trace.arg);
}

const moss_switch_monitor_t *moss_switch_monitor(void)
{
    struct moss__thread *t = moss__thread_get();

    return t != NULL ? &t->monitor : NULL;
}
