/* delay_proxy: a TCP proxy on loopback that delays each direction by D
 * microseconds -- a network round trip of 2 D for whatever runs through it,
 * without netem and without holding a server thread (as SQL SLEEP() would).
 *
 *   delay_proxy --target 127.0.0.1:3306 --delay-us 250 [--listen 127.0.0.1:0]
 *   delay_proxy --target unix:/path/to/socket ...
 *               [--max-conns 512] [--max-queue-bytes 4194304]
 *
 * Prints "listening 127.0.0.1:PORT" on stdout once it accepts connections
 * (port 0 picks a free one). Loopback only: a listen or target address
 * outside 127.0.0.0/8 is refused; a unix-socket target is local by nature
 * and costs the machine less per forwarded chunk than loopback TCP.
 *
 * One thread, one epoll. Every chunk read is stamped "due at now + D" and
 * written when due, in order per direction. All chunks have the same delay,
 * so they fall due in the order they arrived: one FIFO of (connection,
 * direction, due) entries across all connections sets the one epoll wait's
 * nanosecond timeout (epoll_pwait2; timer slack 1 ns), and a busy proxy
 * releases many chunks per wake-up. Bounded: at most --max-conns connections (more are
 * closed at once), at most --max-queue-bytes waiting per direction (reading
 * pauses until it drains). SIGTERM or SIGINT: close everything, exit 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

typedef struct chunk { struct chunk *next; size_t len, off; char data[]; } chunk;

/* Direction 0: client -> target, 1: target -> client. */
typedef struct dir {
    chunk *head, *tail;
    size_t queued;        /* bytes waiting */
    size_t ready;         /* head chunks that are due */
    bool eof, shut;       /* read EOF; write side half-closed after it */
} dir;

typedef struct slot {
    unsigned gen;         /* bumped on close: FIFO entries of old use go stale */
    bool used;
    int fd[2];            /* 0: client, 1: target */
    uint32_t ev[2];       /* epoll events registered per fd */
    dir d[2];
} slot;

typedef struct entry { int64_t due; unsigned slot, gen; int dir; } entry;

static struct {
    struct sockaddr_in listen, target;
    struct sockaddr_un target_un;   /* --target unix:/path: sun_path set */
    int64_t delay_ns;
    size_t max_conns, max_queue;
} opt;

static slot *g_slots;
static entry *g_fifo;
static size_t g_fhead, g_flen, g_fcap;
static int g_ep;
static char g_buf[CHUNK];
static bool g_no_pwait2;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static bool loopback(const struct sockaddr_in *a) { return (ntohl(a->sin_addr.s_addr) >> 24) == 127; }

/* "127.0.0.1:3306" -> a; false if malformed. */
static bool parse_addr(const char *s, struct sockaddr_in *a)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host) return false;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == 0 || port < 0 || port > 65535) return false;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &a->sin_addr) == 1;
}

static bool fifo_push(entry e)
{
    if (g_flen == g_fcap) {
        size_t cap = g_fcap ? g_fcap * 2 : 1024;
        entry *f = malloc(cap * sizeof *f);
        if (!f) return false;
        for (size_t i = 0; i < g_flen; i++) f[i] = g_fifo[(g_fhead + i) % g_fcap];
        free(g_fifo);
        g_fifo = f;
        g_fcap = cap;
        g_fhead = 0;
    }
    g_fifo[(g_fhead + g_flen++) % g_fcap] = e;
    return true;
}

/* epoll data: slot index * 2 + side; the listener, signals, timer above. */
enum { TAG_LISTEN = UINT32_MAX - 2, TAG_SIGNAL, TAG_TIMER };

/* The events fd `side` of s needs now; registers the change. */
static void update_events(slot *s, unsigned idx, int side)
{
    dir *in = &s->d[side], *out = &s->d[!side];   /* read from side / write to side */
    uint32_t ev = 0;
    if (!in->eof && in->queued < opt.max_queue) ev |= EPOLLIN;
    if (out->ready && out->head) ev |= EPOLLOUT;   /* only after a short write */
    if (ev == s->ev[side]) return;
    struct epoll_event e = { .events = ev, .data.u32 = idx * 2 + (unsigned)side };
    epoll_ctl(g_ep, EPOLL_CTL_MOD, s->fd[side], &e);
    s->ev[side] = ev;
}

static void close_slot(slot *s)
{
    for (int i = 0; i < 2; i++) {
        close(s->fd[i]);
        for (chunk *c = s->d[i].head, *n; c; c = n) { n = c->next; free(c); }
        s->d[i] = (dir){ 0 };
    }
    s->used = false;
    s->gen++;
}

/* Writes the due chunks of direction k (to fd[!k]); false if the
 * connection broke. Leaves EPOLLOUT to update_events on a short write. */
static bool flush(slot *s, int k)
{
    dir *d = &s->d[k];
    int to = s->fd[!k];
    while (d->ready && d->head) {
        chunk *c = d->head;
        ssize_t w = send(to, c->data + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        if (w <= 0) return false;
        c->off += (size_t)w;
        if (c->off < c->len) continue;
        d->head = c->next;
        if (!d->head) d->tail = NULL;
        d->queued -= c->len;
        d->ready--;
        free(c);
    }
    if (d->eof && !d->head && !d->shut) {
        shutdown(to, SHUT_WR);
        d->shut = true;
    }
    return true;
}

/* Reads one chunk from fd[side] (direction side); false if it broke. */
static bool pull(slot *s, unsigned idx, int side)
{
    dir *d = &s->d[side];
    ssize_t n = recv(s->fd[side], g_buf, sizeof g_buf, MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) {
        d->eof = true;
        return flush(s, side);      /* half-close now if nothing waits */
    }
    chunk *c = malloc(sizeof *c + (size_t)n);
    if (!c || !fifo_push((entry){ now_ns() + opt.delay_ns, idx, s->gen, side })) {
        free(c);
        return false;
    }
    memcpy(c->data, g_buf, (size_t)n);
    c->len = (size_t)n;
    c->off = 0;
    c->next = NULL;
    if (d->tail) d->tail->next = c; else d->head = c;
    d->tail = c;
    d->queued += (size_t)n;
    return true;
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void accept_one(int lfd)
{
    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0) return;
    size_t i;
    for (i = 0; i < opt.max_conns && g_slots[i].used; i++) { }
    /* The target connects blocking: loopback, so at once or refused. */
    bool un = opt.target_un.sun_path[0] != 0;
    int tfd = i < opt.max_conns ? socket(un ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
    if (tfd < 0 || (un ? connect(tfd, (struct sockaddr *)&opt.target_un, sizeof opt.target_un)
                       : connect(tfd, (struct sockaddr *)&opt.target, sizeof opt.target)) != 0) {
        if (tfd >= 0) close(tfd);
        close(cfd);            /* full, or the target refused: the client sees EOF */
        return;
    }
    fcntl(tfd, F_SETFL, O_NONBLOCK);
    nodelay(cfd);
    nodelay(tfd);
    slot *s = &g_slots[i];
    s->used = true;
    s->fd[0] = cfd;
    s->fd[1] = tfd;
    for (int k = 0; k < 2; k++) {
        s->ev[k] = EPOLLIN;
        struct epoll_event e = { .events = EPOLLIN, .data.u32 = (unsigned)i * 2 + (unsigned)k };
        epoll_ctl(g_ep, EPOLL_CTL_ADD, s->fd[k], &e);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: delay_proxy --target 127.0.0.1:PORT|unix:PATH --delay-us D [--listen 127.0.0.1:0]\n"
                    "                   [--max-conns N] [--max-queue-bytes N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *listen_s = "127.0.0.1:0", *target_s = NULL;
    long delay_us = -1;
    opt.max_conns = 512;
    opt.max_queue = 4u << 20;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        if (!strcmp(argv[i], "--target")) target_s = v;
        else if (!strcmp(argv[i], "--listen")) listen_s = v;
        else if (!strcmp(argv[i], "--delay-us")) delay_us = atol(v);
        else if (!strcmp(argv[i], "--max-conns")) opt.max_conns = (size_t)atol(v);
        else if (!strcmp(argv[i], "--max-queue-bytes")) opt.max_queue = (size_t)atol(v);
        else return usage();
        i++;
    }
    if (!target_s || delay_us < 0 || delay_us > 10000000 || opt.max_conns < 1 ||
        opt.max_conns > 100000 || opt.max_queue < CHUNK)
        return usage();
    if (!strncmp(target_s, "unix:", 5)) {
        if (strlen(target_s + 5) >= sizeof opt.target_un.sun_path || !target_s[5]) return usage();
        opt.target_un.sun_family = AF_UNIX;
        strcpy(opt.target_un.sun_path, target_s + 5);
        target_s = "127.0.0.1:1";   /* checked below like a loopback target */
    }
    if (!parse_addr(target_s, &opt.target) || !parse_addr(listen_s, &opt.listen)) {
        fprintf(stderr, "delay_proxy: addresses are IPv4 HOST:PORT\n");
        return 2;
    }
    if (!loopback(&opt.target) || !loopback(&opt.listen)) {
        fprintf(stderr, "delay_proxy: refusing %s: loopback (127.0.0.0/8) only\n",
                loopback(&opt.target) ? listen_s : target_s);
        return 2;
    }
    if (opt.target.sin_port == 0) { fprintf(stderr, "delay_proxy: target port 0\n"); return 2; }
    opt.delay_ns = delay_us * 1000;
    prctl(PR_SET_TIMERSLACK, 1UL);
    g_slots = calloc(opt.max_conns, sizeof *g_slots);

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    int tmfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t alen = sizeof opt.listen;
    if (!g_slots || sfd < 0 || tmfd < 0 || lfd < 0 || g_ep < 0 ||
        bind(lfd, (struct sockaddr *)&opt.listen, sizeof opt.listen) != 0 ||
        listen(lfd, 512) != 0 || getsockname(lfd, (struct sockaddr *)&opt.listen, &alen) != 0) {
        perror("delay_proxy: setup");
        return 1;
    }
    struct epoll_event e = { .events = EPOLLIN, .data.u32 = TAG_LISTEN };
    epoll_ctl(g_ep, EPOLL_CTL_ADD, lfd, &e);
    e.data.u32 = TAG_SIGNAL;
    epoll_ctl(g_ep, EPOLL_CTL_ADD, sfd, &e);
    e.data.u32 = TAG_TIMER;
    epoll_ctl(g_ep, EPOLL_CTL_ADD, tmfd, &e);
    char host[32];
    inet_ntop(AF_INET, &opt.listen.sin_addr, host, sizeof host);
    printf("listening %s:%d\n", host, ntohs(opt.listen.sin_port));
    fflush(stdout);

    int64_t armed = -1;
    bool stop = false;
    while (!stop) {
        /* Release what is due; arm the timer for the next entry. */
        int64_t now = now_ns();
        while (g_flen) {
            entry *f = &g_fifo[g_fhead];
            if (f->due > now) break;
            slot *s = &g_slots[f->slot];
            if (s->used && s->gen == f->gen) {
                s->d[f->dir].ready++;
                if (!flush(s, f->dir)) close_slot(s);
                else { update_events(s, f->slot, 0); update_events(s, f->slot, 1); }
            }
            g_fhead = (g_fhead + 1) % g_fcap;
            g_flen--;
        }
        /* Sleep until the next entry is due: epoll_pwait2 takes a
         * nanosecond timeout (Linux >= 5.11); older kernels fall back to a
         * timerfd armed at the due time. */
        struct epoll_event ev[128];
        int n;
        if (g_flen && !g_no_pwait2) {
            int64_t wait = g_fifo[g_fhead].due - now_ns();
            if (wait < 0) wait = 0;
            struct timespec ts = { wait / 1000000000, wait % 1000000000 };
            n = epoll_pwait2(g_ep, ev, 128, &ts, NULL);
            if (n < 0 && errno == ENOSYS) { g_no_pwait2 = true; continue; }
        } else {
            if (g_flen && g_fifo[g_fhead].due != armed) {
                armed = g_fifo[g_fhead].due;
                struct itimerspec it = { { 0, 0 }, { armed / 1000000000, armed % 1000000000 } };
                timerfd_settime(tmfd, TFD_TIMER_ABSTIME, &it, NULL);
            }
            n = epoll_wait(g_ep, ev, 128, -1);
        }
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            uint32_t tag = ev[i].data.u32;
            if (tag == TAG_SIGNAL) { stop = true; continue; }
            if (tag == TAG_LISTEN) { accept_one(lfd); continue; }
            if (tag == TAG_TIMER) {
                uint64_t x;
                if (read(tmfd, &x, sizeof x) < 0) { }
                armed = -1;
                continue;
            }
            unsigned idx = tag / 2;
            int side = (int)(tag % 2);
            slot *s = &g_slots[idx];
            if (!s->used) continue;          /* closed earlier in this batch */
            bool ok = true;
            /* Both directions of this socket are over (after our own EOF on
             * it): what waits for it cannot be delivered. */
            if ((ev[i].events & EPOLLHUP) && s->d[side].eof) ok = false;
            if (ok && (ev[i].events & EPOLLOUT)) ok = flush(s, !side);
            if (ok && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) ok = pull(s, idx, side);
            if (ok && (ev[i].events & EPOLLERR)) ok = false;
            if (!ok || (s->d[0].shut && s->d[1].shut)) { close_slot(s); continue; }
            update_events(s, idx, 0);
            update_events(s, idx, 1);
        }
    }
    for (size_t i = 0; i < opt.max_conns; i++)
        if (g_slots[i].used) close_slot(&g_slots[i]);
    close(lfd);
    free(g_slots);
    free(g_fifo);
    return 0;
}
