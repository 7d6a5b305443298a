/*
 * loop.h -- aw_loop, a small event loop (epoll + timers) for native
 * adapters: socket watchers and timers, run by ONE thread at a time.
 *
 * An adapter that speaks its store's protocol over non-blocking sockets
 * registers each socket as an aw_watch and its deadlines as aw_timers,
 * then either runs the loop on a thread of its own or -- the point of it --
 * hands the loop to the operator (aw_function.loop): the operator's owner
 * thread then waits in aw_loop_run for sockets, timers and cross-thread
 * completions at once, and the adapter's callbacks run on the owner thread
 * inside aw_op_* calls, so a record is sent, answered and emitted without a
 * thread hand-off. (hiredis's adapters/libuv.h is the model: addRead,
 * delRead, addWrite, delWrite, scheduleTimer, cleanup.)
 *
 * THREADING. Nothing here locks. Every call on a loop, its watchers and
 * its timers must come from the thread that runs it now; a loop may move
 * to another thread between runs if the hand-over synchronises (a thread
 * start or join, a mutex). Callbacks run only inside aw_loop_run.
 *
 * CALLBACKS may do anything with the loop's watchers and timers except
 * free the loop or run it again (aw_loop_run returns AW_EINVAL then): a
 * watcher or timer freed, stopped or changed inside a callback takes
 * effect at once -- a freed watcher whose event is still pending in this
 * run is not called; a stopped timer does not fire.
 *
 * WRITE INTEREST. A protocol that pipelines should buffer its output and
 * ask for AW_WRITE, then flush everything buffered when the watcher
 * reports the socket writable: a burst of requests then costs one write.
 * aw_watch_set makes a system call only when the wanted set changes.
 *
 * ERRORS are negative AW_E* codes (asyncwait.h); no global state.
 */
#ifndef AW_LOOP_H
#define AW_LOOP_H

#include <stdint.h>
#include "asyncwait.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Events a watcher asks for and is told about. An error or hang-up on the
 * socket is reported as every event the watcher asked for. */
#define AW_READ  1u
#define AW_WRITE 2u

/* aw_loop is declared in asyncwait.h (aw_function.loop). */
typedef struct aw_watch aw_watch;
typedef struct aw_timer aw_timer;

/* Creates a loop. Returns 0 with *out set, AW_EINVAL (out NULL), AW_ENOMEM
 * or AW_EIO (epoll_create1 failed). Any thread. */
int aw_loop_new(aw_loop **out);

/* Frees l and every watcher and timer still registered (their handles
 * become invalid: free yours first). Accepts NULL. Refused (does nothing)
 * inside one of l's callbacks, or while an operator is attached. Does not
 * close the watched fds. */
void aw_loop_free(aw_loop *l);

/* Waits at most timeout_ms (0 = do not wait, -1 = no limit; shortened to
 * the next timer) in ONE epoll_wait, calls the ready watchers' callbacks,
 * then the due timers' in due order. Returns the number of callbacks made,
 * AW_EINVAL (l NULL, timeout_ms < -1, or called from inside one of l's
 * callbacks or while an operator owns l -- the operator runs it then),
 * or AW_EIO (epoll_wait failed other than EINTR). */
int aw_loop_run(aw_loop *l, int timeout_ms);

/* The epoll fd: readable while a watcher has an event ready. For programs
 * that nest the loop in their own (timers do not show here: see
 * aw_loop_next_timer_ms). Owned by the loop; -1 for NULL. */
int aw_loop_fd(const aw_loop *l);

/* Milliseconds until the next timer is due: 0 if due now, -1 if none (or
 * l is NULL). */
int64_t aw_loop_next_timer_ms(const aw_loop *l);

/* The monotonic clock in ms, as the loop's timers read it. */
int64_t aw_loop_now_ms(void);

/* ---------------------------------------------------------- watchers */

/* Watches fd with cb(ctx, events) called inside aw_loop_run while fd is
 * ready for an event in the wanted set. The wanted set starts empty: see
 * aw_watch_set. fd is not owned: the watcher registers a duplicate of it
 * (one dup; closed by aw_watch_free), so the caller may close fd before
 * freeing the watcher -- the socket then stays open until the free -- and
 * a new file that reuses fd's number is NOT watched by w: give it a
 * watcher of its own. Returns 0 with *out set, AW_EINVAL (a NULL argument,
 * or fd not open), AW_ENOMEM, or AW_EIO (no fd left to duplicate into). */
int aw_watch_new(aw_loop *l, aw_watch **out, int fd, void (*cb)(void *ctx, unsigned events),
                 void *ctx);

/* Sets the wanted events (AW_READ | AW_WRITE, or 0 = none). A system call
 * only when the set changes. Returns 0, AW_EINVAL (w NULL, unknown bits)
 * or AW_EIO (epoll_ctl refused). */
int aw_watch_set(aw_watch *w, unsigned events);

/* The wanted events; 0 for NULL. */
unsigned aw_watch_events(const aw_watch *w);

/* Stops watching and frees w. Accepts NULL. Safe inside any callback. */
void aw_watch_free(aw_watch *w);

/* ------------------------------------------------------------ timers */

/* A one-shot timer calling cb(ctx) inside aw_loop_run once due; stopped
 * until started. Returns 0 with *out set, AW_EINVAL or AW_ENOMEM. */
int aw_timer_new(aw_loop *l, aw_timer **out, void (*cb)(void *ctx), void *ctx);

/* (Re)starts t to fire at at_ms on aw_loop_now_ms's clock (in the past =
 * at the next run). No system call. Returns 0, or AW_EINVAL for NULL. */
int aw_timer_start_at(aw_timer *t, int64_t at_ms);

/* (Re)starts t to fire after ms (>= 0) milliseconds. One clock read, no
 * system call. Returns 0, or AW_EINVAL (NULL, ms < 0). */
int aw_timer_start(aw_timer *t, int64_t ms);

/* Stops t if it runs. Accepts NULL. */
void aw_timer_stop(aw_timer *t);

/* True while t is started and has not fired. */
bool aw_timer_active(const aw_timer *t);

/* Stops and frees t. Accepts NULL. Safe inside any callback. */
void aw_timer_free(aw_timer *t);

#ifdef __cplusplus
}
#endif
#endif /* AW_LOOP_H */
