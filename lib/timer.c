/* Timers: the timeout list (push order is deadline order, since every
 * record gets the same timeout on a clock that never goes back), the
 * retry min-heap (delays differ by attempt, so order must be kept), and
 * what firing does -- a retry's next attempt, a record's timeout (through
 * fn.timeout) -- in aw__run_timers, which aw__process (op.c) calls. */
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

/* ------------------------------------------------------------ firing */

/* s's time ran out. Returns true if s timed out here and waits in S_DONE
 * for the caller to make it ready: aw__run_timers lets every record due at
 * this instant time out before any leaves, so what times out does not
 * depend on how fast the sink is. */
static bool on_timeout(aw_op *op, aw__slot *s)
{
    aw__tlist_del(op, s);
    if (s->state == S_RETRY || s->state == S_HELD) {
        if (s->state == S_RETRY) aw__heap_del(op, s);
        else aw__keyed_unhold(op, s);   /* never invoked (per_key_limit) */
        if (!op->fn.timeout) {   /* no attempt running: nothing to orphan */
            op->timed_out++;
            return aw__settle_slot(op, s, AW_ETIMEDOUT, NULL);
        }
        /* Between attempts: give fn.timeout a fresh future to complete. */
        aw_future *f = aw__future_get(op);
        if (!f) { aw__finish(op, s, AW_ENOMEM, NULL); return false; }
        f->slot = s;
        s->fut = f;
        s->state = S_WAIT;
    }
    aw_future *f = s->fut;
    /* A completion already won: it is on its way and handled as usual. */
    if (atomic_load(&f->state) != F_PENDING) return false;
    if (op->fn.timeout) {
        op->depth++;
        op->fn.timeout(op->fn.ctx, s->input, f);
        op->depth--;
        /* Settled inside fn.timeout on this thread (a fallback, or the
         * adapter failing it with AW_ETIMEDOUT): the timeout decided. Settled
         * from another thread meanwhile: the completion won. */
        if (atomic_load(&f->state) != F_PENDING) {
            if (op->ltail == f) op->timed_out++;
            return false;
        }
    }
    int st = F_PENDING;
    if (!atomic_compare_exchange_strong(&f->state, &st, F_TIMEDOUT)) return false;
    /* A zombie now: the adapter may still complete it, late. */
    op->timed_out++;
    f->slot = NULL;
    s->fut = NULL;
    return aw__settle_slot(op, s, AW_ETIMEDOUT, NULL);
}

/* Fires due timers, earliest first (a retry before a timeout at the same
 * instant). Returns true if any fired. */
bool aw__run_timers(aw_op *op)
{
    bool fired = false;
    aw__slot *done = NULL, **last = &done;   /* timed out, in deadline order */
    while (!op->failed && (op->thead || op->nheap)) {
        aw__slot *r = aw__heap_top(op), *t = op->thead;
        bool rdue = r && r->due <= op->now, tdue = t && t->deadline <= op->now;
        if (rdue && (!tdue || r->due <= t->deadline)) {
            aw__heap_del(op, r);
            r->attempt++;
            op->retried++;
            aw__invoke_slot(op, r);
        } else if (tdue) {
            /* Every record due now (and before the next retry), last one
             * first: an adapter takes back the records still queued before
             * it abandons the one running ahead of them, whose freed worker
             * would otherwise start the next queued one meanwhile. */
            aw__slot *end = t, *batch = NULL;
            while (end->tnext && end->tnext->deadline <= op->now &&
                   !(rdue && r->due <= end->tnext->deadline))
                end = end->tnext;
            for (aw__slot *s = end, *prev; s && !op->failed; s = s == t ? NULL : prev) {
                prev = s->tprev;             /* s leaves the list; prev stays */
                if (on_timeout(op, s)) {
                    s->tnext = batch;        /* out of the timeout list: free link */
                    batch = s;
                }
            }
            for (; batch; batch = batch->tnext) {   /* in deadline order */
                *last = batch;
                last = &batch->tnext;
            }
        } else {
            break;
        }
        fired = true;
    }
    while (done) {
        aw__slot *next = done->tnext;
        done->tnext = NULL;
        /* Not if an earlier one's flush already emitted it. */
        if (!op->failed && done->state == S_DONE) aw__ready(op, done);
        done = next;
    }
    return fired;
}
