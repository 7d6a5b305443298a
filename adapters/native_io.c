/* The native driver's operator side (native_int.h): invoke, fn.timeout,
 * and for io=thread the hand-off to the I/O thread and that thread.
 *
 * io=thread hand-off: invoke pushes the request on a lock-free stack (CAS)
 * and writes the eventfd only if the I/O thread is about to sleep (a
 * Dekker pair: it sets `sleeping` then looks at the stack; invoke pushes
 * then looks at `sleeping`, both seq_cst). Requests freed by the I/O
 * thread go back to the owner through a second lock-free stack, which the
 * owner takes whole (aw__nat_req_get). A timeout asks the I/O thread about
 * its future under a mutex; that thread answers at once. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include "native_core_int.h"

void aw__nat_wake(aw__nat *n)
{
    uint64_t one = 1;
    while (write(n->efd, &one, sizeof one) < 0 && errno == EINTR) { }
}

static void take_inbox(aw__nat *n)
{
    aw__nat_req *l = atomic_exchange(&n->inbox, NULL), *rev = NULL;
    while (l) { aw__nat_req *x = l->next; l->next = rev; rev = l; l = x; }
    while (rev) { aw__nat_req *x = rev->next; aw__nat_enqueue(n, rev); rev = x; }
}

void aw__nat_invoke(void *ctx, void *input, aw_future *f)
{
    aw__nat *n = ctx;
    aw__nat_req *r = atomic_load(&n->closed) ? NULL : aw__nat_req_get(n);
    if (!r) {
        char m[100];
        snprintf(m, sizeof m, "the %s adapter is closed", n->cfg.name);
        aw_future_fail(f, atomic_load(&n->closed) ? AW_ECLOSED : AW_ENOMEM,
                       atomic_load(&n->closed) ? m : "out of memory");
        return;
    }
    r->input = input;
    r->f = f;
    r->abandoned = false;
    if (!n->cfg.own_thread) {            /* we run the loop: start it now */
        aw__nat_enqueue(n, r);
        aw__nat_dispatch(n);
        return;
    }
    r->next = atomic_load_explicit(&n->inbox, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&n->inbox, &r->next, r)) { }
    if (atomic_load(&n->sleeping) && atomic_exchange(&n->sleeping, false)) aw__nat_wake(n);
}

/* The record of f timed out (owner thread). A record that waits for a
 * connection is withdrawn and fails here; one whose query runs is
 * abandoned -- its answer will be dropped without calling row, since input
 * may be freed once the record leaves -- and f is left unsettled, so the
 * operator fails the record with AW_ETIMEDOUT and f waits for its late
 * completion. The owner never waits for the network: in owner mode this
 * is a look at our own queues; in thread mode the I/O thread answers at
 * once (it is never inside a lookup callback while it does). */
void aw__nat_timeout(void *ctx, void *input, aw_future *f)
{
    aw__nat *n = ctx;
    (void)input;
    int outcome = O_NOT_HELD;
    if (!n->cfg.own_thread) {
        outcome = aw__nat_find_cancel(n, f);
    } else {
        cancel k = { NULL, f, 0 };
        pthread_mutex_lock(&n->mu);
        if (n->io_running) {
            k.next = n->cancels;
            n->cancels = &k;
            atomic_store(&n->cancel_pending, true);
            aw__nat_wake(n);
            while (!k.outcome) pthread_cond_wait(&n->cv, &n->mu);
            outcome = k.outcome;
        }
        pthread_mutex_unlock(&n->mu);
    }
    if (outcome == O_WITHDRAWN) {
        char msg[160];
        snprintf(msg, sizeof msg, "timed out while waiting for a free %s connection (%zu, all "
                 "busy or down)", n->cfg.name, n->cfg.conns);
        aw_future_fail(f, AW_ETIMEDOUT, msg);
    } else if (outcome != O_ABANDONED) {
        /* Settled already (harmless), or a fresh future between retry
         * attempts: settle it so it does not stay pending. */
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
    }
}

/* ---------------------------------------------------------- I/O thread */

static void do_cancels(aw__nat *n)
{
    pthread_mutex_lock(&n->mu);
    cancel *l = n->cancels;
    n->cancels = NULL;
    atomic_store(&n->cancel_pending, false);
    pthread_mutex_unlock(&n->mu);
    take_inbox(n);
    for (cancel *k = l, *next; k; k = next) {
        next = k->next;
        int outcome = aw__nat_find_cancel(n, k->f);
        pthread_mutex_lock(&n->mu);
        k->outcome = outcome;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
    }
}

void aw__nat_on_wake(void *ctx, unsigned events)
{
    aw__nat *n = ctx;
    uint64_t x;
    if (read(n->efd, &x, sizeof x) < 0) { }
    (void)events;
}

/* The driver whose I/O thread this is (none on other threads). */
static _Thread_local const aw__nat *tl_io;

bool aw__nat_on_io_thread(const aw__nat *n) { return tl_io == n; }

void *aw__nat_io_main(void *arg)
{
    aw__nat *n = arg;
    tl_io = n;
    for (;;) {
        if (atomic_load(&n->cancel_pending)) do_cancels(n);
        take_inbox(n);
        aw__nat_dispatch(n);
        if (atomic_load(&n->stop)) break;
        /* Sleep only if nothing came in since we looked (see the top). */
        atomic_store(&n->sleeping, true);
        int timeout = atomic_load(&n->inbox) || atomic_load(&n->cancel_pending) ||
                      atomic_load(&n->stop) ? 0 : -1;
        aw_loop_run(n->l, timeout);
        atomic_store(&n->sleeping, false);
    }
    take_inbox(n);
    aw__nat_shutdown(n);
    pthread_mutex_lock(&n->mu);
    n->io_running = false;
    for (cancel *k = n->cancels; k; k = k->next) k->outcome = O_NOT_HELD;
    n->cancels = NULL;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    return NULL;
}
