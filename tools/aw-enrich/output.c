/* output.c -- standard output in whole records, and the signals that stop
 * a run.
 *
 * Output is formatted into a buffer in units (one input record's output
 * lines, or the CSV header) and written with write(2) -- no stdio buffer
 * that could hand the kernel half a record when the process dies. Only
 * records whose bytes all reached the kernel count as written.
 *
 * SIGINT, SIGTERM and SIGHUP: the first one is recorded (en_signal_first)
 * and the main loop stops reading, lets what is in flight finish or time
 * out, writes it and prints the summary, then re-raises the signal for its
 * conventional status (130, 143, 129). A second one (another signal, or
 * the same one 100 ms or more later) exits at once: at
 * once if no write is under way, else as soon as the write reaches the end
 * of the record it is in -- never in the middle of one.
 *
 * SIGPIPE is ignored (a Redis connection the server closed fails with
 * EPIPE and is made again); standard output closed by its reader still
 * ends the run with SIGPIPE's status, 141, as it did before. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "enrich.h"

static volatile sig_atomic_t g_first;    /* the first signal, or 0 */
static volatile sig_atomic_t g_writing;  /* en_out_flush is writing */
static volatile sig_atomic_t g_urgent;   /* a second signal came while writing */

static const int g_sigs[] = { SIGINT, SIGTERM, SIGHUP };
static int g_pipe_default;               /* SIGPIPE was at its default */

static void die_now(int sig)
{
    static const char m[] = "aw-enrich: second signal: stopping at once\n";
    ssize_t r = write(STDERR_FILENO, m, sizeof m - 1);
    (void)r;
    signal(sig, SIG_DFL);
    raise(sig);        /* from the handler: delivered as it returns */
}

static int64_t g_first_ns;               /* when the first came (handler only) */

static int64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);     /* async-signal-safe */
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void on_signal(int sig)
{
    if (!g_first) { g_first = sig; g_first_ns = mono_ns(); return; }
    /* The same signal again within 100 ms is the same request: timeout(1)
     * and terminals signal both the process and its process group. */
    if (sig == g_first && mono_ns() - g_first_ns < 100000000) return;
    if (g_writing) { g_urgent = sig; return; }   /* en_out_flush ends the record */
    die_now(sig);
}

void en_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof g_sigs / sizeof g_sigs[0]; i++)
        sigaddset(&sa.sa_mask, g_sigs[i]);   /* one handler at a time */
    sa.sa_flags = 0;                  /* no SA_RESTART: read and poll return EINTR */
    for (size_t i = 0; i < sizeof g_sigs / sizeof g_sigs[0]; i++) {
        struct sigaction old;
        /* A signal ignored by whoever started us (nohup) stays ignored. */
        if (sigaction(g_sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(g_sigs[i], &sa, NULL);
    }
    /* A Redis connection the server closed must not end the run with
     * SIGPIPE (hiredis writes with write(2)): ignored, such a write fails
     * with EPIPE and the connection is made again. Standard output closed
     * by its reader still ends the run as SIGPIPE would (en_out_flush). */
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
        g_pipe_default = 1;
        signal(SIGPIPE, SIG_IGN);
    }
}

void en_signals_block(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    for (size_t i = 0; i < sizeof g_sigs / sizeof g_sigs[0]; i++) sigaddset(&s, g_sigs[i]);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

void en_signals_restore(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

int en_signal_first(void) { return g_first; }

const char *en_signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}

void en_signal_reraise(int sig)
{
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    raise(sig);
    _exit(128 + sig);   /* not reached */
}

/* ------------------------------------------------------------- output */

int en_out_unit(en_out *o, uint64_t records)
{
    if (o->nunits == o->ucap) {
        size_t cap = o->ucap ? o->ucap * 2 : 256;
        en_unit *u = realloc(o->units, cap * sizeof *u);
        if (!u) return -1;
        o->units = u;
        o->ucap = cap;
    }
    o->units[o->nunits++] = (en_unit){ o->buf.len, records };
    return 0;
}

/* The end of the unit that byte offset done is in, or done itself when it
 * is at the end of a unit (or 0). */
static size_t unit_end_from(const en_out *o, size_t done)
{
    if (done == 0) return 0;
    for (size_t i = 0; i < o->nunits; i++)
        if (o->units[i].end >= done) return o->units[i].end;
    return done;
}

int en_out_flush(en_out *o)
{
    size_t len = o->nunits ? o->units[o->nunits - 1].end : 0, done = 0;
    int rc = 0;
    if (!o->failed) {
        g_writing = 1;
        while (done < len) {
            size_t lim = len;
            if (g_urgent && (lim = unit_end_from(o, done)) == done) break;
            ssize_t n = write(o->fd, o->buf.p + done, lim - done);
            if (n > 0) { done += (size_t)n; continue; }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                struct pollfd p = { .fd = o->fd, .events = POLLOUT };
                poll(&p, 1, -1);
                continue;
            }
            if (n < 0 && errno == EPIPE && g_pipe_default) {
                signal(SIGPIPE, SIG_DFL);    /* the reader is gone: as before */
                raise(SIGPIPE);
            }
            o->failed = true;
            o->err = n < 0 ? errno : EIO;
            break;
        }
        g_writing = 0;
    }
    for (size_t i = 0; i < o->nunits; i++) {
        if (o->units[i].end <= done) o->written += o->units[i].records;
        else o->lost += o->units[i].records;
    }
    if (o->failed) rc = -1;
    o->buf.len = 0;
    o->nunits = 0;
    if (g_urgent) die_now(g_urgent);   /* at the end of a record: now */
    return rc;
}

void en_out_free(en_out *o)
{
    en_buf_free(&o->buf);
    free(o->units);
    o->units = NULL;
    o->nunits = o->ucap = 0;
}
