/* Timers: the timeout list (push order is deadline order, since every
 * record gets the same timeout on a clock that never goes back) and the
 * retry min-heap (delays differ by attempt, so order must be kept). */
#include <math.h>
#include <time.h>
#include "op_int.h"

uint64_t aw__mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int64_t aw__now(aw_op *op)
{
    if (op->default_clock)
        op->now = (int64_t)(aw__mono_ns() / 1000000u);
    else
        op->now = op->cfg.clock.now_ms(op->cfg.clock.ctx);
    return op->now;
}

void aw__tlist_add(aw_op *op, aw__slot *s)
{
    s->tnext = NULL;
    s->tprev = op->ttail;
    if (op->ttail) op->ttail->tnext = s; else op->thead = s;
    op->ttail = s;
    s->timed = 1;
}

void aw__tlist_del(aw_op *op, aw__slot *s)
{
    if (!s->timed) return;
    if (s->tprev) s->tprev->tnext = s->tnext; else op->thead = s->tnext;
    if (s->tnext) s->tnext->tprev = s->tprev; else op->ttail = s->tprev;
    s->tprev = s->tnext = NULL;
    s->timed = 0;
}

static void heap_set(aw_op *op, size_t i, aw__slot *s) { op->heap[i] = s; s->heap = (int)i; }

static void sift_up(aw_op *op, size_t i)
{
    aw__slot *s = op->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (op->heap[p]->due <= s->due) break;
        heap_set(op, i, op->heap[p]);
        i = p;
    }
    heap_set(op, i, s);
}

static void sift_down(aw_op *op, size_t i)
{
    aw__slot *s = op->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= op->nheap) break;
        if (c + 1 < op->nheap && op->heap[c + 1]->due < op->heap[c]->due) c++;
        if (op->heap[c]->due >= s->due) break;
        heap_set(op, i, op->heap[c]);
        i = c;
    }
    heap_set(op, i, s);
}

void aw__heap_push(aw_op *op, aw__slot *s)
{
    op->heap[op->nheap] = s;   /* never overflows: one entry per slot */
    sift_up(op, op->nheap++);
}

void aw__heap_del(aw_op *op, aw__slot *s)
{
    if (s->heap < 0) return;
    size_t i = (size_t)s->heap;
    s->heap = -1;
    aw__slot *last = op->heap[--op->nheap];
    if (last == s) return;
    heap_set(op, i, last);
    sift_down(op, i);
    sift_up(op, (size_t)last->heap);
}

aw__slot *aw__heap_top(aw_op *op) { return op->nheap ? op->heap[0] : NULL; }

int64_t aw__next_due(aw_op *op)
{
    int64_t due = op->thead ? op->thead->deadline : AW__NO_DEADLINE;
    if (op->nheap && op->heap[0]->due < due) due = op->heap[0]->due;
    return due;
}

/* Delay before retry number attempt+1: delay * multiplier^attempt, capped. */
int64_t aw__retry_delay(const aw_retry *r, int attempt)
{
    double d = (double)r->delay_ms;
    if (r->multiplier > 1.0) d *= pow(r->multiplier, attempt);
    if (r->max_delay_ms > 0 && d > (double)r->max_delay_ms) d = (double)r->max_delay_ms;
    if (d > 9e15) d = 9e15;    /* keep now + delay inside int64 */
    return (int64_t)d;
}
