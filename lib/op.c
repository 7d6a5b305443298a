/* The operator: slots in queue order, the emission disciplines (ordered,
 * unordered, event time; keyed in keyed.c), settling and retrying a
 * record, the owner's processing loop, waiting, and the public calls. What
 * a firing timer does is timer.c's. See docs/design.md. */
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "loop.h"
#include "op_int.h"


void aw__set_err(aw_op *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->errmsg, sizeof op->errmsg, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ emission */

static void slot_release(aw_op *op, aw__slot *s)
{
    if (s->key) aw__keyed_leave(op, s);
    if (s->prev) s->prev->next = s->next; else op->head = s->next;
    if (s->next) s->next->prev = s->prev; else op->tail = s->prev;
    if (s->fut) aw__future_put(op, s->fut);
    s->fut = NULL;
    free(s->msg);
    s->msg = NULL;
    s->state = S_FREE;
    s->next = op->free_slots;
    op->free_slots = s;
    op->count--;
    op->left++;
}

static const char *fail_text(aw_op *op, const aw__slot *s, char *buf, size_t len)
{
    if (s->msg) return s->msg;
    if (s->err == AW_ETIMEDOUT)
        snprintf(buf, len, "timed out after %lld ms", (long long)op->cfg.timeout_ms);
    else
        snprintf(buf, len, "%s", aw_strerror(s->err));
    return buf;
}

static void emit_slot(aw_op *op, aw__slot *s)
{
    if (s->kind == K_WM) {
        op->watermarks++;
        if (op->sink.watermark) {
            op->depth++;
            op->sink.watermark(op->sink.ctx, s->ts);
            op->depth--;
        }
    } else {
        if (s->push_ns) aw__hist_add(op, aw__mono_ns() - s->push_ns);
        op->depth++;
        if (s->err == 0) {
            op->emitted++;
            op->sink.emit(op->sink.ctx, s->input, s->fut->res, s->fut->n, s->ts);
        } else {  /* sink.error is set, or the operator failed before this */
            char buf[96];
            op->nfailed++;
            op->sink.error(op->sink.ctx, s->input, s->err, fail_text(op, s, buf, sizeof buf));
        }
        op->depth--;
    }
    slot_release(op, s);
}

/* Emits from the head of the queue whatever may leave now. */
static void flush(aw_op *op)
{
    if (op->failed) return;
    if (op->cfg.mode == AW_ORDERED) {
        while (op->head && op->head->state == S_DONE)
            emit_slot(op, op->head);
    } else if (op->cfg.mode != AW_UNORDERED) {
        /* A watermark at the head closes the first segment; the next
         * segment's records that completed meanwhile leave behind it
         * (keyed: those heading their key; one pass in push order also
         * lets a key's next record go once its predecessor left). */
        bool keyed = op->cfg.mode == AW_KEY_ORDERED;
        while (op->head && op->head->kind == K_WM) {
            emit_slot(op, op->head);
            op->cur_seg++;
            aw__slot *next;
            for (aw__slot *s = op->head; s && s->kind != K_WM; s = next) {
                next = s->next;
                if (s->state == S_DONE && (!keyed || s->key->head == s)) emit_slot(op, s);
            }
        }
    }
}

/* AW_KEY_ORDERED: s leaves if it heads its key; then the key's next ones
 * that are done, as far as the segment goes. Out of line: ready stays small
 * for the other modes. */
__attribute__((noinline)) static void ready_keyed(aw_op *op, aw__slot *s)
{
    if (s->seg != op->cur_seg || s->key->head != s) return;
    for (;;) {
        aw__slot *n = s->knext;
        emit_slot(op, s);
        if (!n || n->state != S_DONE || n->seg != op->cur_seg) break;
        s = n;
    }
    if (op->head && op->head->kind == K_WM) flush(op);
}

/* s just reached S_DONE. */
static void ready(aw_op *op, aw__slot *s)
{
    switch (op->cfg.mode) {
    case AW_UNORDERED:
        emit_slot(op, s);
        break;
    case AW_ORDERED:
        if (s == op->head) flush(op);
        break;
    case AW_UNORDERED_EVENT_TIME:
        if (s->seg == op->cur_seg) {
            emit_slot(op, s);
            flush(op);
        }
        break;
    case AW_KEY_ORDERED:
        ready_keyed(op, s);
        break;
    }
}

static void fail_op(aw_op *op, const aw__slot *s)
{
    char buf[96];
    op->failed = true;
    aw__set_err(op, "record #%llu (input %p) failed with %s: %s; the operator has failed "
            "(set sink.error to receive failures per record)",
            (unsigned long long)s->seq, s->input, aw_err_name(s->err),
            fail_text(op, s, buf, sizeof buf));
}

/* The record's last attempt is over: err is its outcome. True if it may
 * leave (ready), false if it failed the operator. */
static bool settle_slot(aw_op *op, aw__slot *s, int err, char *msg)
{
    aw__tlist_del(op, s);
    s->state = S_DONE;
    s->err = err;
    s->msg = msg;
    if (err && !op->sink.error) {
        fail_op(op, s);
        return false;
    }
    return true;
}

static void finish(aw_op *op, aw__slot *s, int err, char *msg)
{
    if (settle_slot(op, s, err, msg)) ready(op, s);
}

/* For timer.c; op.c's own calls stay direct (and inlined). */
bool aw__settle_slot(aw_op *op, aw__slot *s, int err, char *msg) { return settle_slot(op, s, err, msg); }
void aw__finish(aw_op *op, aw__slot *s, int err, char *msg) { finish(op, s, err, msg); }
void aw__ready(aw_op *op, aw__slot *s) { ready(op, s); }

/* --------------------------------------------------- invoke and retry */

static void invoke_slot(aw_op *op, aw__slot *s)
{
    aw_future *f = aw__future_get(op);
    if (!f) {
        s->fut = NULL;
        finish(op, s, AW_ENOMEM, NULL);
        return;
    }
    f->slot = s;
    s->fut = f;
    s->state = S_WAIT;
    op->depth++;
    op->fn.invoke(op->fn.ctx, s->input, f);
    op->depth--;
}

void aw__invoke_slot(aw_op *op, aw__slot *s) { invoke_slot(op, s); }

/* True, with s->due set, if another attempt may start before the deadline. */
static bool can_retry(aw_op *op, aw__slot *s)
{
    if (s->attempt >= op->cfg.retry.max_attempts) return false;
    int64_t due = aw__now(op) + aw__retry_delay(&op->cfg.retry, s->attempt);
    if (s->deadline != AW__NO_DEADLINE && (!s->timed || due > s->deadline))
        return false;
    s->due = due;
    return true;
}

static bool wants_retry(aw_op *op, aw__slot *s, aw_future *f)
{
    const aw_retry *r = &op->cfg.retry;
    if (f->err == 0 ? !r->if_result : !r->if_error) return false;
    if (!can_retry(op, s)) return false;
    op->depth++;
    bool yes = f->err == 0 ? r->if_result(r->ctx, s->input, f->res, f->n)
                           : r->if_error(r->ctx, s->input, f->err);
    op->depth--;
    return yes;
}

static void schedule_retry(aw_op *op, aw__slot *s, aw_future *f)
{
    if (f->err == 0 && op->sink.release) {
        op->depth++;
        for (size_t i = 0; i < f->n; i++) op->sink.release(op->sink.ctx, f->res[i]);
        op->depth--;
    }
    aw__future_put(op, f);
    s->fut = NULL;
    s->state = S_RETRY;
    aw__heap_push(op, s);
}

/* One settled future, on the owner thread. */
static void handle(aw_op *op, aw_future *f)
{
    if (atomic_load_explicit(&f->state, memory_order_acquire) == F_LATE) {
        op->late++;
        aw__future_put(op, f);
        return;
    }
    aw__slot *s = f->slot;
    if (op->failed || op->in_free) {
        s->state = S_DONE;   /* kept for aw_op_free to release */
        s->err = f->err;
        return;
    }
    if (wants_retry(op, s, f)) {
        schedule_retry(op, s, f);
        return;
    }
    char *msg = f->msg;
    f->msg = NULL;
    finish(op, s, f->err, msg);
}

/* Handles every settled future and due timer until none is left. */
void aw__process(aw_op *op)
{
    for (;;) {
        aw_future *f = op->lhead;
        if (f) {
            op->lhead = f->next;
            if (!op->lhead) op->ltail = NULL;
            handle(op, f);
            continue;
        }
        if ((f = aw__inbox_take(op))) {
            while (f) {
                aw_future *next = f->next;   /* handle may recycle f */
                handle(op, f);
                f = next;
            }
            continue;
        }
        if (op->kpend && !op->failed && !op->in_free) {
            aw__keyed_start(op);
            continue;
        }
        if (op->failed || op->in_free || !(op->thead || op->nheap) || !aw__run_timers(op)) return;
    }
}

/* ------------------------------------------------------------ waiting */

/* Reads the eventfd so it is readable again only for new completions. */
static void rearm(aw_op *op)
{
    if (atomic_load(&op->wake)) {
        uint64_t v;
        ssize_t r = read(op->efd, &v, sizeof v);
        (void)r;
        atomic_store(&op->wake, 0);
        /* Dekker with deliver(): our store of wake must be visible before
         * we look at the inbox, as a completer's push is before its look
         * at wake; else both miss and the wake-up is lost. */
        atomic_thread_fence(memory_order_seq_cst);
    }
}

/* Runs the attached loop once, waiting up to ms (-1: no limit). Its
 * callbacks are adapter code: they count as inside a callback. */
static void run_loop(aw_op *op, int64_t ms)
{
    op->depth++;
    aw__loop_run(op->loop, ms < 0 ? -1 : ms > INT_MAX ? INT_MAX : (int)ms);
    op->depth--;
}

/* Sleeps until a completion arrives, a timer is due, or max_ms (-1: no
 * limit) passes; with fn.loop, in that loop, so the adapter's sockets and
 * timers are served meanwhile. An injected clock is re-read at least every
 * 10 ms. */
static void wait_work(aw_op *op, int64_t max_ms)
{
    int64_t w = max_ms, due = aw__next_due(op);
    if (due != AW__NO_DEADLINE) {
        int64_t t = due > op->now ? due - op->now : 0;
        if (!op->default_clock && t > 10) t = 10;
        if (w < 0 || t < w) w = t;
    }
    if (op->lhead || atomic_load(&op->inbox) || w == 0) return;
    /* Spin briefly first: a completion due within microseconds is met
     * without a sleep and a wake-up (tens of us here). The eventfd is not
     * re-armed yet, so completers that find it armed skip their write. */
    if (op->spin_ns && !op->loop) {
        uint64_t spin_until = aw__mono_ns() + op->spin_ns;
        do {
            for (int i = 0; i < 64; i++) {
                if (atomic_load_explicit(&op->inbox, memory_order_relaxed)) return;
                __builtin_ia32_pause();
            }
        } while (aw__mono_ns() < spin_until);
    }
    rearm(op);
    if (atomic_load(&op->inbox)) return;
    if (op->loop) {
        run_loop(op, w);
    } else {
        struct pollfd p = { .fd = op->efd, .events = POLLIN };
        poll(&p, 1, w < 0 ? -1 : (int)(w > INT_MAX ? INT_MAX : w));
    }
    aw__now(op);
}

/* ------------------------------------------------------- public calls */

/* Common entry checks; on success the caller is the owner until leave. */
static int enter(aw_op *op, const char *fn, aw_op **prev)
{
    if (!op) return AW_EINVAL;
    if (op->depth > 0 || op->in_free) {
        aw__set_err(op, "%s called from inside a callback of the same operator", fn);
        return AW_EINVAL;
    }
    if (op->failed) return AW_EFAILED;
    *prev = aw__owner;
    aw__owner = op;
    if (op->thead || op->nheap) aw__now(op);
    return 0;
}

static void leave(aw_op *prev) { aw__owner = prev; }

static void accept(aw_op *op, void *input, int64_t ts, unsigned char kind)
{
    aw__slot *s = op->free_slots;
    op->free_slots = s->next;
    s->next = NULL;
    s->prev = op->tail;
    if (op->tail) op->tail->next = s; else op->head = s;
    op->tail = s;
    op->count++;
    s->input = input;
    s->ts = ts;
    s->kind = kind;
    s->err = 0;
    s->attempt = 0;
    s->fut = NULL;
    if (kind == K_WM) {
        s->state = S_DONE;
        s->seg = op->next_seg++;
        if (op->head == s) flush(op);
        return;
    }
    s->seg = op->next_seg;
    s->seq = ++op->pushed;
    /* Latency is measured for the first AW__EXACT records, then sampled
     * (1 record in AW__SAMPLE): two clock reads per record would be a
     * third of the operator's own cost. */
    s->push_ns = s->seq <= AW__EXACT || s->seq % AW__SAMPLE == 1 % AW__SAMPLE ? aw__mono_ns() : 0;
    s->deadline = AW__NO_DEADLINE;
    if (op->cfg.timeout_ms > 0) {
        int64_t now = op->default_clock && s->push_ns ? (int64_t)(s->push_ns / 1000000u)
                                                      : aw__now(op);
        op->now = now;
        s->deadline = now + op->cfg.timeout_ms;
        aw__tlist_add(op, s);
    }
    if (op->cfg.mode == AW_KEY_ORDERED && !aw__keyed_accept(op, s)) return;  /* held */
    invoke_slot(op, s);
}

static int push_common(aw_op *op, void *input, int64_t ts, unsigned char kind,
                       bool block, const char *fn)
{
    aw_op *prev;
    int rc = enter(op, fn, &prev);
    if (rc) return rc;
    aw__process(op);
    bool looked = false;
    while (!op->failed && op->count == op->cfg.capacity) {
        if (!block && op->loop && !looked) {   /* what the adapter has ready */
            looked = true;
            rearm(op);
            run_loop(op, 0);
            aw__process(op);
            continue;
        }
        if (!block) {
            rc = AW_EAGAIN;
            aw__set_err(op, "%s: operator is full (%zu in flight)", fn, op->count);
            break;
        }
        wait_work(op, -1);
        aw__process(op);
    }
    if (op->failed) rc = AW_EFAILED;
    if (rc == 0 && !op->free_slots && aw__slots_grow(op)) {
        rc = AW_ENOMEM;
        aw__set_err(op, "%s: out of memory for more slots (%zu in flight)", fn, op->count);
    }
    if (rc == 0 && kind == K_REC && op->cfg.mode == AW_KEY_ORDERED &&
        (!op->kfree || op->nkeys >= ((size_t)1 << op->kbits)) &&   /* else room already */
        (rc = aw__keyed_reserve(op)) != 0)
        aw__set_err(op, "%s: out of memory for a new key's entry", fn);
    if (rc == 0) {
        accept(op, input, ts, kind);
        aw__process(op);
    }
    leave(prev);
    return rc;
}

int aw_op_push(aw_op *op, void *input, int64_t ts)
{
    return push_common(op, input, ts, K_REC, true, "aw_op_push");
}

int aw_op_try_push(aw_op *op, void *input, int64_t ts)
{
    return push_common(op, input, ts, K_REC, false, "aw_op_try_push");
}

int aw_op_watermark(aw_op *op, int64_t ts)
{
    if (op && op->cfg.mode == AW_UNORDERED && op->depth == 0) {
        aw__set_err(op, "aw_op_watermark: AW_UNORDERED has no watermarks "
                "(use AW_UNORDERED_EVENT_TIME)");
        return AW_EINVAL;
    }
    return push_common(op, NULL, ts, K_WM, true, "aw_op_watermark");
}

int aw_op_poll(aw_op *op, int timeout_ms)
{
    if (op && timeout_ms < -1) {
        aw__set_err(op, "aw_op_poll: timeout_ms %d (use -1 for no limit)", timeout_ms);
        return AW_EINVAL;
    }
    aw_op *prev;
    int rc = enter(op, "aw_op_poll", &prev);
    if (rc) return rc;
    uint64_t before = op->left, start = 0;
    rearm(op);
    if (op->loop) run_loop(op, 0);
    aw__process(op);
    while (op->left == before && op->count > 0 && !op->failed && timeout_ms != 0) {
        int64_t remain = -1;
        if (timeout_ms > 0) {
            if (!start) start = aw__mono_ns();
            remain = timeout_ms - (int64_t)((aw__mono_ns() - start) / 1000000u);
            if (remain <= 0) break;
        }
        wait_work(op, remain);
        aw__process(op);
    }
    rc = op->failed ? AW_EFAILED : (int)(op->left - before);
    leave(prev);
    return rc;
}

int aw_op_drain(aw_op *op)
{
    aw_op *prev;
    int rc = enter(op, "aw_op_drain", &prev);
    if (rc) return rc;
    aw__process(op);
    while (op->count > 0 && !op->failed) {
        wait_work(op, -1);
        aw__process(op);
    }
    leave(prev);
    return op->failed ? AW_EFAILED : 0;
}

size_t aw_op_in_flight(const aw_op *op) { return op ? op->count : 0; }

int aw_op_fd(aw_op *op) { return !op ? -1 : op->loop ? aw_loop_fd(op->loop) : op->efd; }

int64_t aw_op_next_timer_ms(aw_op *op)
{
    if (!op) return -1;
    int64_t due = aw__next_due(op), ms = -1;
    if (due != AW__NO_DEADLINE) {
        int64_t now = aw__now(op);
        ms = due > now ? due - now : 0;
    }
    int64_t lt = op->loop ? aw_loop_next_timer_ms(op->loop) : -1;
    if (lt >= 0 && (ms < 0 || lt < ms)) ms = lt;
    return ms;
}

int aw_op_snapshot(aw_op *op,
                   int (*visit)(void *ctx, void *input, int64_t ts, bool is_watermark),
                   void *ctx)
{
    if (!op) return AW_EINVAL;
    if (!visit) {
        aw__set_err(op, "aw_op_snapshot: visit is NULL");
        return AW_EINVAL;
    }
    op->depth++;
    int rc = 0;
    for (aw__slot *s = op->head; s && !rc; s = s->next)
        rc = visit(ctx, s->input, s->ts, s->kind == K_WM);
    op->depth--;
    return rc;
}

const char *aw_op_errmsg(const aw_op *op)
{
    return op ? op->errmsg : "operator is NULL";
}
