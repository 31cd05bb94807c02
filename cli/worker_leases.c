/* worker_leases.c: partition leases kept alive by a thread (worker_leases.h). */
#define _DEFAULT_SOURCE
#include "worker_leases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ms(void) { return (long long)(nu_now() * 1000); }

/* A main loop silent for this long is wedged: its leases are let go. */
static long long wedged_after_ms(const wl_keeper *k)
{
    double s = k->ttl * 10 > 120 ? k->ttl * 10 : 120; /* longer than any wait of the main loop */
    return (long long)(s * 1000);
}

static bool value_is(kvEntry *e, const char *id)
{
    const char *v = kvEntry_ValueString(e);
    return v && !strcmp(v, id);
}

/* Renews lease l (lock held). False when the bucket did not answer. */
static bool renew_one(wl_keeper *k, wl_lease *l)
{
    uint64_t rev = 0;
    if (kvStore_UpdateString(&rev, k->kv, l->key, k->id, l->rev) == NATS_OK) {
        l->rev = rev;
        return true;
    }
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, k->kv, l->key);
    bool mine = s == NATS_OK && value_is(e, k->id); /* an update that timed out here but was applied there */
    if (mine)
        l->rev = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    if (mine)
        return true;
    /* Expired and nobody took it: still ours. Had another worker taken it
     * meanwhile, it deleted our consumer, and the main loop finds that out. */
    if (s == NATS_NOT_FOUND && kvStore_CreateString(&rev, k->kv, l->key, k->id) == NATS_OK) {
        l->rev = rev;
        return true;
    }
    if (s != NATS_OK && s != NATS_NOT_FOUND)
        return false;
    fprintf(stderr, "eqlite worker %s: lost the lease on %s (%s)\n", k->id, l->key,
            s == NATS_NOT_FOUND ? "expired" : "another worker holds it");
    l->held = false;
    l->lost = true;
    atomic_store(&k->any_lost, true);
    return true;
}

/* One round: presence and every lease held. False if something did not answer. */
static bool keep_round(wl_keeper *k)
{
    char presence[80];
    snprintf(presence, sizeof presence, "w.%s", k->id);
    uint64_t rev;
    bool ok = kvStore_PutString(&rev, k->kv, presence, "1") == NATS_OK;
    for (int i = 0; i < k->n; i++) {
        pthread_mutex_lock(&k->lock);
        if (k->leases[i].held && !renew_one(k, &k->leases[i]))
            ok = false;
        pthread_mutex_unlock(&k->lock);
    }
    return ok;
}

static void *keeper_main(void *arg)
{
    wl_keeper *k = arg;
    bool said_wedged = false;
    pthread_mutex_lock(&k->lock);
    while (!k->stop) {
        pthread_mutex_unlock(&k->lock);
        bool wedged = now_ms() - atomic_load(&k->alive_ms) > wedged_after_ms(k);
        if (wedged && !said_wedged)
            fprintf(stderr, "eqlite worker %s: the main loop has not moved for %lld s; its leases are let go\n",
                    k->id, wedged_after_ms(k) / 1000);
        said_wedged = wedged;
        bool ok = wedged || keep_round(k);
        pthread_mutex_lock(&k->lock);
        if (k->stop)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long long wait_ms = ok ? (long long)(k->ttl * 1000 / 3) : 250;
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&k->wake, &k->lock, &until);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

int wl_open(wl_keeper *k, const char *urls, const char *stream, int replicas, const char *id, double ttl,
            wl_lease *leases, int n)
{
    memset(k, 0, sizeof *k);
    snprintf(k->id, sizeof k->id, "%s", id);
    snprintf(k->bucket, sizeof k->bucket, "%s_leases", stream);
    k->ttl = ttl;
    k->leases = leases;
    k->n = n;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->wake, NULL);
    k->opened = true;
    atomic_store(&k->alive_ms, now_ms());
    if (!(k->nc = nu_connect(urls, "eqlite worker leases")))
        return 2;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = (int64_t)(ttl * 1000 / 3); /* a renewal that waits longer is too late anyway */
    natsStatus s = natsConnection_JetStream(&k->js, k->nc, &jo);
    if (s != NATS_OK)
        return nu_fail("JetStream", s, 0);
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = k->bucket;
    kc.History = 1;
    kc.TTL = (int64_t)(ttl * 1e9); /* ns (as MaxAge) */
    kc.Replicas = replicas;
    for (int attempt = 0; attempt < 40; attempt++) {
        if ((s = js_KeyValue(&k->kv, k->js, k->bucket)) == NATS_OK ||
            (s = js_CreateKeyValue(&k->kv, k->js, &kc)) == NATS_OK)
            break;
        nu_sleep_ms(250);
    }
    if (s != NATS_OK)
        return nu_fail("the lease bucket", s, 0);
    keep_round(k); /* present before the first look at who is alive */
    if (pthread_create(&k->thread, NULL, keeper_main, k) != 0) {
        fprintf(stderr, "eqlite worker: cannot start the lease thread\n");
        return 2;
    }
    k->running = true;
    return 0;
}

void wl_close(wl_keeper *k)
{
    if (!k->opened)
        return;
    if (k->running) {
        pthread_mutex_lock(&k->lock);
        k->stop = true;
        pthread_cond_signal(&k->wake);
        pthread_mutex_unlock(&k->lock);
        pthread_join(k->thread, NULL);
        char presence[80];
        snprintf(presence, sizeof presence, "w.%s", k->id);
        kvStore_Delete(k->kv, presence);
    }
    kvStore_Destroy(k->kv);
    jsCtx_Destroy(k->js);
    natsConnection_Destroy(k->nc);
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->wake);
}

void wl_alive(wl_keeper *k) { atomic_store(&k->alive_ms, now_ms()); }

bool wl_claim(wl_keeper *k, int i, uint64_t *claim_rev)
{
    wl_lease *l = &k->leases[i];
    uint64_t rev = 0;
    bool ok = false;
    pthread_mutex_lock(&k->lock);
    if (kvStore_CreateString(&rev, k->kv, l->key, k->id) == NATS_OK) {
        ok = true;
    } else {
        kvEntry *e = NULL;
        if (kvStore_Get(&e, k->kv, l->key) == NATS_OK) {
            const char *v = kvEntry_ValueString(e);
            ok = (!v || !*v) && kvStore_UpdateString(&rev, k->kv, l->key, k->id, kvEntry_Revision(e)) == NATS_OK;
        }
        kvEntry_Destroy(e);
    }
    if (ok) {
        l->rev = *claim_rev = rev;
        l->held = true;
        l->lost = false;
    }
    pthread_mutex_unlock(&k->lock);
    return ok;
}

void wl_give_up(wl_keeper *k, int i)
{
    wl_lease *l = &k->leases[i];
    pthread_mutex_lock(&k->lock);
    if (l->held) {
        uint64_t rev;
        kvStore_UpdateString(&rev, k->kv, l->key, "", l->rev);
        l->held = false;
    }
    l->lost = false;
    pthread_mutex_unlock(&k->lock);
}

bool wl_still_mine(wl_keeper *k, int i)
{
    kvEntry *e = NULL;
    bool mine = kvStore_Get(&e, k->kv, k->leases[i].key) == NATS_OK && value_is(e, k->id);
    kvEntry_Destroy(e);
    return mine;
}

int wl_take_lost(wl_keeper *k)
{
    if (!atomic_load(&k->any_lost))
        return -1;
    int found = -1;
    pthread_mutex_lock(&k->lock);
    for (int i = 0; i < k->n && found < 0; i++)
        if (k->leases[i].lost) {
            k->leases[i].lost = false;
            found = i;
        }
    if (found < 0)
        atomic_store(&k->any_lost, false);
    pthread_mutex_unlock(&k->lock);
    return found;
}

bool wl_taken(wl_keeper *k, int i)
{
    kvEntry *e = NULL;
    bool taken = kvStore_Get(&e, k->kv, k->leases[i].key) == NATS_OK && kvEntry_ValueString(e) &&
                 *kvEntry_ValueString(e);
    kvEntry_Destroy(e);
    return taken;
}

/* Stream info with a subject filter lists the w.ID keys without making a
 * consumer (kvStore_Keys makes one per call: a Raft proposal each tick). */
bool wl_live_workers(wl_keeper *k, char ***ids, int *count)
{
    char filter[400], stream[320];
    int plen = snprintf(filter, sizeof filter, "$KV.%s.", k->bucket);
    snprintf(filter + plen, sizeof filter - (size_t)plen, "w.>");
    snprintf(stream, sizeof stream, "KV_%s", k->bucket);
    jsOptions o;
    jsOptions_Init(&o);
    o.Stream.Info.SubjectsFilter = filter;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    *ids = NULL;
    *count = 0;
    if (js_GetStreamInfo(&si, k->js, stream, &o, &jerr) != NATS_OK)
        return false;
    int n = si->State.Subjects ? si->State.Subjects->Count : 0;
    char **out = calloc((size_t)n + 1, sizeof *out);
    bool ok = out != NULL;
    for (int j = 0; j < n && ok; j++) {
        const char *key = si->State.Subjects->List[j].Subject + plen;
        kvEntry *e = NULL; /* a worker that stopped left a delete marker */
        natsStatus s = strcmp(key + 2, k->id) ? kvStore_Get(&e, k->kv, key) : NATS_OK;
        kvEntry_Destroy(e);
        if (s == NATS_OK)
            ok = (out[(*count)++] = strdup(key + 2)) != NULL;
        else if (s != NATS_NOT_FOUND)
            ok = false;
    }
    jsStreamInfo_Destroy(si);
    if (!ok) {
        wl_ids_free(out, *count);
        *count = 0;
        return false;
    }
    *ids = out;
    return true;
}

void wl_ids_free(char **ids, int count)
{
    for (int j = 0; j < count; j++)
        free(ids[j]);
    free(ids);
}
