/* worker_leases.h: who owns which partition, through the key-value bucket
 * STREAM_leases, kept alive by a thread of its own.
 *
 * Key p.K (or p.all) holds the owner's id; the bucket's TTL (its MaxAge) ends
 * the lease of a worker that stops renewing; giving a lease up writes an
 * empty value (compare-and-set on its revision, so a lease already lost is
 * never erased). Key w.ID says that worker ID is alive.
 *
 * Why a thread: a worker's main loop waits on JetStream calls that take
 * seconds while a Raft group elects a leader (creating a consumer, storing
 * alerts). Renewing between those calls let leases expire during a server
 * failure, the partitions moved, each move made new consumers, which made
 * the next calls slower still. The keeper renews on its own connection every
 * TTL/3 (sooner after a failed round) whatever the main loop is doing; it
 * stops renewing if the main loop has not checked in for a long time, so a
 * wedged worker still loses its partitions. */
#ifndef EQ_CLI_WORKER_LEASES_H
#define EQ_CLI_WORKER_LEASES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "nats_util.h"

typedef struct wl_lease {
    char key[32]; /* p.K or p.all */
    uint64_t rev; /* of our last write */
    bool held;    /* ours: the keeper renews it */
    bool lost;    /* the keeper found it gone (held by another, or expired and taken) */
} wl_lease;

typedef struct wl_keeper {
    char id[64], bucket[300];
    double ttl;
    natsConnection *nc;
    jsCtx *js;
    kvStore *kv;
    wl_lease *leases;
    int n;
    pthread_mutex_t lock; /* guards leases[] and every write of a lease key */
    pthread_cond_t wake;
    pthread_t thread;
    bool opened, running, stop;
    atomic_bool any_lost;
    atomic_llong alive_ms; /* the main loop's last check-in */
} wl_keeper;

/* Connects (its own connection), opens or makes the bucket (replicas as the
 * stream), starts the thread. Returns 0 or 2 (message on stderr). */
int wl_open(wl_keeper *k, const char *urls, const char *stream, int replicas, const char *id, double ttl,
            wl_lease *leases, int n);
/* Stops the thread, says this worker is gone, closes. Leases still held
 * are left to expire. */
void wl_close(wl_keeper *k);

/* The main loop is alive. */
void wl_alive(wl_keeper *k);

/* Takes lease i if it is free (missing, expired or given up). Its
 * revision, which names the claim, goes to *claim_rev. */
bool wl_claim(wl_keeper *k, int i, uint64_t *claim_rev);
/* Gives lease i up (empty value), if it is still ours. */
void wl_give_up(wl_keeper *k, int i);
/* Whether lease i is ours right now (asks the bucket; false when it does
 * not answer). */
bool wl_still_mine(wl_keeper *k, int i);
/* The next lease the keeper found lost (and no longer holds), or -1. */
int wl_take_lost(wl_keeper *k);
/* Whether lease i is held by some worker (a non-empty value). */
bool wl_taken(wl_keeper *k, int i);

/* Ids of the live workers (this one included), as w.ID keys say; false
 * when the bucket does not answer. Free with wl_ids_free. */
bool wl_live_workers(wl_keeper *k, char ***ids, int *count);
void wl_ids_free(char **ids, int count);

#endif
