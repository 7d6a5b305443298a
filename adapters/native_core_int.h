/* Private to adapters/native.c (the engine: connections, queues,
 * deadlines, open and close) and adapters/native_io.c (the operator's
 * side: invoke, timeout, and the io=thread hand-off): the driver's
 * insides. Everything here runs on the loop's thread unless it says
 * otherwise. */
#ifndef AW_NATIVE_CORE_INT_H
#define AW_NATIVE_CORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include "native_int.h"

#define REQ_CHUNK 64

enum { C_DOWN, C_CONNECTING, C_UP };

struct aw__nat_conn {
    aw__nat *n;
    size_t idx;
    int state;
    int fd;
    aw_watch *w;
    ino_t ino;                   /* the file fd named when w was made */
    dev_t dev;
    aw_timer *deadline, *retry;
    int deadline_ms;             /* what deadline measures, for its message */
    long backoff_ms;
    bool ever_up, ready;         /* ready: on n's list of connections with room */
    aw__nat_conn *rnext, *rprev;
    aw__nat_req *fly, *fly_tail; /* in flight, oldest first */
    size_t nfly;
    max_align_t proto[];         /* the protocol's state */
};

/* A timeout waiting for the I/O thread's answer about its future. */
typedef struct cancel {
    struct cancel *next;
    aw_future *f;
    int outcome;                 /* 0 pending, then one of the O_* */
} cancel;

enum { O_WITHDRAWN = 1, O_NOT_HELD, O_ABANDONED };

typedef struct chunk { struct chunk *next; aw__nat_req r[REQ_CHUNK]; } chunk;

struct aw__nat {
    aw__nat_cfg cfg;
    aw_function fn;
    aw_loop *l;
    aw__nat_conn **c;
    /* loop thread */
    aw__nat_req *wq, *wq_tail;   /* waiting for a connection, FIFO */
    aw__nat_conn *rq, *rq_tail;  /* connections with room */
    size_t up;
    int depth;                   /* > 0 inside the driver's callbacks */
    bool dispatching, opening, closing;
    int open_rc;
    size_t open_up;
    char open_err[1024];
    /* requests: the owner's free list; in thread mode the I/O thread gives
     * back through ret */
    aw__nat_req *free;
    chunk *chunks;
    _Atomic(aw__nat_req *) ret;
    /* thread mode */
    int efd;
    aw_watch *efd_w;
    pthread_t th;
    bool started;
    _Atomic(aw__nat_req *) inbox;
    _Atomic bool sleeping, stop, cancel_pending;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cancel *cancels;             /* under mu */
    bool io_running;             /* under mu */
    _Atomic bool closed;
};

/* native.c */
aw__nat_req *aw__nat_req_get(aw__nat *n);          /* owner thread; NULL = no memory */
void aw__nat_req_put(aw__nat *n, aw__nat_req *r);  /* any thread */
void aw__nat_enqueue(aw__nat *n, aw__nat_req *r);  /* to the back of the wait FIFO */
void aw__nat_dispatch(aw__nat *n);                 /* waiting requests to free connections */
int aw__nat_find_cancel(aw__nat *n, aw_future *f); /* an O_* */
void aw__nat_shutdown(aw__nat *n);                 /* fail everything, close every connection */

/* native_io.c */
void aw__nat_invoke(void *ctx, void *input, aw_future *f);     /* fn.invoke */
void aw__nat_timeout(void *ctx, void *input, aw_future *f);    /* fn.timeout */
void aw__nat_wake(aw__nat *n);                     /* the I/O thread's eventfd */
void aw__nat_on_wake(void *ctx, unsigned events);  /* its watcher */
void *aw__nat_io_main(void *arg);                  /* the I/O thread */
bool aw__nat_on_io_thread(const aw__nat *n);       /* called on n's I/O thread */

#endif
