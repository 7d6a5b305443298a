/* aw_loop: epoll for watchers, a binary min-heap for timers. Watchers and
 * timers freed while callbacks run are unlinked at once and reclaimed when
 * the run ends, so an event still pending for a freed watcher finds a dead
 * object, not freed memory. See loop.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "loop.h"
#include "op_int.h"

#define MAX_EVENTS 64

struct aw_watch {
    aw_loop *l;
    int fd;                          /* our duplicate of the caller's fd */
    unsigned want;                   /* AW_READ | AW_WRITE registered */
    bool dead;
    void (*cb)(void *ctx, unsigned events);
    void *ctx;
    aw_watch *prev, *next;           /* l->watches, or l->dead_w (next only) */
};

struct aw_timer {
    aw_loop *l;
    int64_t due;
    long idx;                        /* index in the heap; -1 when not in it */
    bool dead, firing;               /* firing: popped as due, not yet called */
    void (*cb)(void *ctx);
    void *ctx;
    aw_timer *prev, *next;           /* l->timers, or l->dead_t (next only) */
    aw_timer *fire_next;
};

struct aw_loop {
    int ep;
    int depth;                       /* > 0 while callbacks run */
    void *owner;                     /* the attached operator, if any */
    aw_timer **heap;
    size_t nheap, cap, ntimers;      /* cap >= ntimers: starting never allocates */
    aw_watch *watches, *dead_w;
    aw_timer *timers, *dead_t;
    struct epoll_event ev[MAX_EVENTS];
};

int64_t aw_loop_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int aw_loop_new(aw_loop **out)
{
    if (!out) return AW_EINVAL;
    *out = NULL;
    aw_loop *l = calloc(1, sizeof *l);
    if (!l) return AW_ENOMEM;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0) {
        free(l);
        return errno == ENOMEM ? AW_ENOMEM : AW_EIO;
    }
    *out = l;
    return 0;
}

void aw_loop_free(aw_loop *l)
{
    if (!l || l->depth > 0 || l->owner) return;
    for (aw_watch *w = l->watches, *n; w; w = n) { n = w->next; close(w->fd); free(w); }
    for (aw_timer *t = l->timers, *n; t; t = n) { n = t->next; free(t); }
    free(l->heap);
    close(l->ep);
    free(l);
}

int aw_loop_fd(const aw_loop *l) { return l ? l->ep : -1; }

/* ------------------------------------------------------------- heap */

static void heap_set(aw_loop *l, size_t i, aw_timer *t) { l->heap[i] = t; t->idx = (long)i; }

static void sift_up(aw_loop *l, size_t i)
{
    aw_timer *t = l->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (l->heap[p]->due <= t->due) break;
        heap_set(l, i, l->heap[p]);
        i = p;
    }
    heap_set(l, i, t);
}

static void sift_down(aw_loop *l, size_t i)
{
    aw_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->nheap) break;
        if (c + 1 < l->nheap && l->heap[c + 1]->due < l->heap[c]->due) c++;
        if (l->heap[c]->due >= t->due) break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

static void heap_del(aw_loop *l, aw_timer *t)
{
    if (t->idx < 0) return;
    size_t i = (size_t)t->idx;
    t->idx = -1;
    aw_timer *last = l->heap[--l->nheap];
    if (last == t) return;
    heap_set(l, i, last);
    sift_down(l, i);
    sift_up(l, (size_t)last->idx);
}

int64_t aw_loop_next_timer_ms(const aw_loop *l)
{
    if (!l || !l->nheap) return -1;
    int64_t d = l->heap[0]->due - aw_loop_now_ms();
    return d > 0 ? d : 0;
}

/* ------------------------------------------------------------ timers */

int aw_timer_new(aw_loop *l, aw_timer **out, void (*cb)(void *ctx), void *ctx)
{
    if (!out) return AW_EINVAL;
    *out = NULL;
    if (!l || !cb) return AW_EINVAL;
    aw_timer *t = calloc(1, sizeof *t);
    if (!t) return AW_ENOMEM;
    /* Room in the heap for every timer: starting one never allocates. */
    if (l->ntimers == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        aw_timer **h = realloc(l->heap, cap * sizeof *h);
        if (!h) { free(t); return AW_ENOMEM; }
        l->heap = h;
        l->cap = cap;
    }
    l->ntimers++;
    t->l = l;
    t->idx = -1;
    t->cb = cb;
    t->ctx = ctx;
    t->next = l->timers;
    if (l->timers) l->timers->prev = t;
    l->timers = t;
    *out = t;
    return 0;
}

int aw_timer_start_at(aw_timer *t, int64_t at_ms)
{
    if (!t || t->dead) return AW_EINVAL;
    aw_loop *l = t->l;
    t->firing = false;
    t->due = at_ms;
    if (t->idx >= 0) {
        size_t i = (size_t)t->idx;
        sift_down(l, i);
        sift_up(l, (size_t)t->idx);
        return 0;
    }
    l->heap[l->nheap] = t;
    sift_up(l, l->nheap++);
    return 0;
}

int aw_timer_start(aw_timer *t, int64_t ms)
{
    if (!t || ms < 0) return AW_EINVAL;
    return aw_timer_start_at(t, aw_loop_now_ms() + ms);
}

void aw_timer_stop(aw_timer *t)
{
    if (!t) return;
    t->firing = false;
    heap_del(t->l, t);
}

bool aw_timer_active(const aw_timer *t) { return t && (t->idx >= 0 || t->firing); }

void aw_timer_free(aw_timer *t)
{
    if (!t) return;
    aw_loop *l = t->l;
    aw_timer_stop(t);
    if (t->dead) return;
    if (t->prev) t->prev->next = t->next; else l->timers = t->next;
    if (t->next) t->next->prev = t->prev;
    l->ntimers--;
    if (l->depth > 0) {                  /* it may be on the fire list */
        t->dead = true;
        t->next = l->dead_t;
        l->dead_t = t;
    } else {
        free(t);
    }
}

/* ---------------------------------------------------------- watchers */

int aw_watch_new(aw_loop *l, aw_watch **out, int fd, void (*cb)(void *ctx, unsigned events),
                 void *ctx)
{
    if (!out) return AW_EINVAL;
    *out = NULL;
    if (!l || !cb || fd < 0) return AW_EINVAL;
    aw_watch *w = calloc(1, sizeof *w);
    if (!w) return AW_ENOMEM;
    /* epoll keys a registration by fd number AND open file, and keeps it
     * while the file lives -- in a forked child, say -- even after the fd
     * is closed here; a later EPOLL_CTL_DEL by that number then misses it
     * and its events would name a freed watcher. Registering a duplicate
     * we alone close, after the DEL, rules that out; the caller may then
     * close its fd first (a client library does, on failures). */
    w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (w->fd < 0) {
        int e = errno;
        free(w);
        return e == EBADF ? AW_EINVAL : e == ENOMEM ? AW_ENOMEM : AW_EIO;
    }
    w->l = l;
    w->cb = cb;
    w->ctx = ctx;
    w->next = l->watches;
    if (l->watches) l->watches->prev = w;
    l->watches = w;
    *out = w;
    return 0;
}

int aw_watch_set(aw_watch *w, unsigned events)
{
    if (!w || w->dead || (events & ~(AW_READ | AW_WRITE))) return AW_EINVAL;
    if (events == w->want) return 0;
    int rc;
    if (!events) {
        rc = epoll_ctl(w->l->ep, EPOLL_CTL_DEL, w->fd, NULL);
    } else {
        struct epoll_event e = { .events = (events & AW_READ ? EPOLLIN : 0u) |
                                           (events & AW_WRITE ? EPOLLOUT : 0u),
                                 .data.ptr = w };
        rc = epoll_ctl(w->l->ep, w->want ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &e);
    }
    if (rc && events) return AW_EIO;
    w->want = events;                    /* a failed DEL: the fd is gone anyway */
    return 0;
}

unsigned aw_watch_events(const aw_watch *w) { return w ? w->want : 0; }

void aw_watch_free(aw_watch *w)
{
    if (!w || w->dead) return;
    aw_loop *l = w->l;
    if (w->want) epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
    close(w->fd);
    w->want = 0;
    if (w->prev) w->prev->next = w->next; else l->watches = w->next;
    if (w->next) w->next->prev = w->prev;
    if (l->depth > 0) {                  /* an event for it may be pending */
        w->dead = true;
        w->next = l->dead_w;
        l->dead_w = w;
    } else {
        free(w);
    }
}

/* --------------------------------------------------------------- run */

static int run_timers(aw_loop *l)
{
    if (!l->nheap) return 0;
    int64_t now = aw_loop_now_ms();
    aw_timer *fire = NULL, **tail = &fire;
    /* Pop every due timer first: one restarted by a callback with a due
     * time already past waits for the next run instead of looping here. */
    while (l->nheap && l->heap[0]->due <= now) {
        aw_timer *t = l->heap[0];
        heap_del(l, t);
        t->firing = true;
        t->fire_next = NULL;
        *tail = t;
        tail = &t->fire_next;
    }
    int n = 0;
    for (aw_timer *t = fire; t; t = t->fire_next) {
        if (t->dead || !t->firing) continue;
        t->firing = false;
        t->cb(t->ctx);
        n++;
    }
    return n;
}

int aw__loop_run(aw_loop *l, int timeout_ms)
{
    if (l->depth > 0) return AW_EINVAL;
    int64_t t = timeout_ms;
    if (l->nheap) {
        int64_t d = l->heap[0]->due - aw_loop_now_ms();
        if (d < 0) d = 0;
        if (t < 0 || d < t) t = d;
    }
    int k = epoll_wait(l->ep, l->ev, MAX_EVENTS, t > INT_MAX ? INT_MAX : (int)t);
    if (k < 0) {
        if (errno != EINTR) return AW_EIO;
        k = 0;
    }
    int n = 0;
    l->depth++;
    for (int i = 0; i < k; i++) {
        aw_watch *w = l->ev[i].data.ptr;
        if (w->dead) continue;
        uint32_t e = l->ev[i].events;
        unsigned ev = (e & EPOLLIN ? AW_READ : 0u) | (e & EPOLLOUT ? AW_WRITE : 0u) |
                      (e & (EPOLLERR | EPOLLHUP) ? AW_READ | AW_WRITE : 0u);
        ev &= w->want;
        if (!ev) continue;
        w->cb(w->ctx, ev);
        n++;
    }
    n += run_timers(l);
    l->depth--;
    while (l->dead_w) { aw_watch *w = l->dead_w; l->dead_w = w->next; free(w); }
    while (l->dead_t) { aw_timer *x = l->dead_t; l->dead_t = x->next; free(x); }
    return n;
}

int aw_loop_run(aw_loop *l, int timeout_ms)
{
    if (!l || timeout_ms < -1 || l->owner) return AW_EINVAL;
    return aw__loop_run(l, timeout_ms);
}

/* ------------------------------------------------- operator attachment */

int aw__loop_attach(aw_loop *l, void *op)
{
    if (l->owner || l->depth > 0) return AW_EINVAL;
    l->owner = op;
    return 0;
}

void aw__loop_detach(aw_loop *l, void *op)
{
    if (l->owner == op) l->owner = NULL;
}
