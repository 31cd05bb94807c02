/* gen_events.c: ../shared/tools/gen_events.py in C. Every draw below mirrors
 * one rng call of the Python generator, in the same order (Python evaluates
 * conditions before branches and arguments before calls), so the two produce
 * the same events from the same seed. Keep them in lock-step. */
#include "gen_events.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- splitmix64 (Steele, Lea, Flood 2014), as in the Python generator ---- */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t next_u64(rng *r)
{
    r->state += 0x9E3779B97F4A7C15ull;
    uint64_t z = r->state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t below(rng *r, uint64_t n) { return next_u64(r) % n; }
static int chance(rng *r, unsigned per_mille) { return below(r, 1000) < per_mille; }

typedef struct weighted_name {
    const char *value;
    unsigned weight;
} weighted_name;

static const char *weighted(rng *r, const weighted_name *pairs, size_t n)
{
    uint64_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += pairs[k].weight;
    uint64_t x = below(r, total);
    for (size_t k = 0; k < n; k++) {
        if (x < pairs[k].weight)
            return pairs[k].value;
        x -= pairs[k].weight;
    }
    return pairs[n - 1].value;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define WEIGHTED(r, table) weighted((r), (table), COUNT(table))
#define CHOICE(r, table) ((table)[below((r), COUNT(table))])

/* ---- the tables of gen_events.py ---- */

static const char *const UNUSUAL_PARENTS[] = {
    "lsass.exe",         "csrss.exe",          "epad.exe",
    "regsvr32.exe",      "dllhost.exe",        "LogonUI.exe",
    "wermgr.exe",        "spoolsv.exe",        "jucheck.exe",
    "jusched.exe",       "ctfmon.exe",         "taskhostw.exe",
    "GoogleUpdate.exe",  "sppsvc.exe",         "sihost.exe",
    "slui.exe",          "SIHClient.exe",      "SearchIndexer.exe",
    "SearchProtocolHost.exe", "FlashPlayerUpdateService.exe", "WerFault.exe",
    "WUDFHost.exe",      "unsecapp.exe",       "wlanext.exe",
};
static const char EXCLUDED_DLLHOST_ARG[] = "/Processid:{CA8C87C1-929D-45BA-94DB-EF8E6CB346AD}";
static const char EXCLUDED_DLLHOST_ARG_LOWER[] = "/processid:{ca8c87c1-929d-45ba-94db-ef8e6cb346ad}";
static const char OTHER_DLLHOST_ARG[] = "/Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}";

static const weighted_name COMMON_WIN_PARENTS[] = {
    {"explorer.exe", 30}, {"services.exe", 12}, {"svchost.exe", 14}, {"powershell.exe", 6},
    {"cmd.exe", 6},       {"userinit.exe", 3},  {"WmiPrvSE.exe", 3}, {"winlogon.exe", 2},
    {"msiexec.exe", 3},   {"chrome.exe", 6},    {"Code.exe", 3},     {"python.exe", 2},
    {"java.exe", 2},      {"taskeng.exe", 2},   {"conhost.exe", 2},  {"lsass.exe.bak", 1},
};
static const weighted_name UNIX_PARENTS[] = {
    {"bash", 30},   {"systemd", 20}, {"sshd", 10}, {"zsh", 10},
    {"launchd", 10}, {"python3", 5}, {"cron", 5},  {"containerd-shim", 5},
};
static const weighted_name WIN_NAMES[] = {
    {"powershell.exe", 10}, {"svchost.exe", 14}, {"chrome.exe", 14}, {"conhost.exe", 8},
    {"explorer.exe", 4},    {"rundll32.exe", 4}, {"notepad.exe", 3}, {"msedge.exe", 8},
    {"python.exe", 3},      {"git.exe", 4},      {"WmiPrvSE.exe", 2}, {"taskhostw.exe", 2},
    {"cmd.exe.bak", 1},     {"xcmd.exe", 1},     {"cmd.ex", 1},      {"reg.exe", 2},
};
static const weighted_name UNIX_NAMES[] = {
    {"bash", 20}, {"curl", 8}, {"sshd", 8}, {"python3", 10}, {"ls", 10},
    {"cat", 8},   {"grep", 8}, {"node", 6}, {"cmd.exe", 1},
};
/* WIN_CMD_ARGS: argument lists after the executable; NULL-terminated rows. */
static const char *const WIN_CMD_ARGS[][5] = {
    {"/c", "whoami", NULL},
    {"/c", "echo", "hello", NULL},
    {"/c", "dir", "C:\\Users", NULL},
    {"/q", "/c", "net", "user", NULL},
    {"/c", "ipconfig", "/all", NULL},
    {"/k", NULL},
    {"/c", "start", "\"\"", "C:\\Temp\\a b\\x.bat", NULL},
};
static const char *const USERS[] = {"alice", "bob", "SYSTEM", "carol", "dave", "LOCAL SERVICE", "svc_backup",
                                    "mallory"};
static const char *const FILE_TYPES[] = {"creation", "change", "deletion"};
static const int64_t PORTS[] = {53, 80, 443, 445, 3389, 8080};
static const char *const CATEGORY_NAMES[GEN__CATEGORIES] = {"process", "network", "file", "registry"};

static const int64_t BASE_MS = 1714521600000; /* 2024-05-01T00:00:00Z */

/* ---- storage: chunked pools, so pointers stay valid as they grow ---- */

#define VALUE_CHUNK 65536
#define TEXT_CHUNK (1u << 20)
#define INTERN_SLOTS 8192

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} chunk;

struct gen_events {
    eqlite_event *events;
    size_t n;
    uint32_t ids[GF__COUNT];
    uint32_t nfields;
    size_t category_counts[GEN__CATEGORIES];
    chunk *chunks;
    const char *intern[INTERN_SLOTS]; /* NUL-terminated strings in `chunks` */
};

static void *pool_alloc(gen_events *g, size_t size, size_t chunk_size)
{
    size = (size + 15) & ~(size_t)15;
    chunk *c = g->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > chunk_size ? size : chunk_size;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = g->chunks;
        g->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

static const char *store_text(gen_events *g, const char *s, size_t n)
{
    char *p = pool_alloc(g, n + 1, TEXT_CHUNK);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* Values that recur (paths of a few dozen names, host names) are stored once. */
static const char *intern(gen_events *g, const char *s)
{
    size_t n = strlen(s);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    for (size_t i = h & (INTERN_SLOTS - 1);; i = (i + 1) & (INTERN_SLOTS - 1)) {
        if (!g->intern[i])
            return g->intern[i] = store_text(g, s, n);
        if (strcmp(g->intern[i], s) == 0)
            return g->intern[i];
    }
}

/* ---- building one event ---- */

/* The values of one event while it is drawn; strings are stable pointers. */
typedef struct draft {
    const char *category;
    const char *types[2];
    int ntypes;
    const char *host_name;
    const char *os_type; /* NULL: no host.os object */
    int64_t pid;
    const char *name, *executable;
    const char *args[8];
    int nargs;
    int has_parent;
    int64_t parent_pid;
    const char *parent_name;
    const char *parent_args[2];
    int nparent_args;
    const char *user;
    const char *dest_ip;
    int64_t dest_port;
    const char *file_path, *registry_path;
} draft;

static int ascii_ieq(const char *a, const char *b)
{
    while (*a && *b && tolower((unsigned char)*a) == tolower((unsigned char)*b))
        a++, b++;
    return *a == 0 && *b == 0;
}

/* odd_case(): one of four spellings. */
static const char *odd_case(gen_events *g, rng *r, const char *name)
{
    uint64_t k = below(r, 4);
    if (k == 3)
        return name;
    char buf[128];
    size_t n = strlen(name);
    if (n >= sizeof buf)
        return name;
    for (size_t i = 0; i <= n; i++) {
        int upper = k == 0 || (k == 1 && i == 0);
        buf[i] = (char)(upper ? toupper((unsigned char)name[i]) : tolower((unsigned char)name[i]));
    }
    return intern(g, buf);
}

static const char *win_exe_path(gen_events *g, const char *name)
{
    char buf[160];
    snprintf(buf, sizeof buf, "C:\\Windows\\System32\\%s", name);
    return intern(g, buf);
}

static const char *process_name(gen_events *g, rng *r, int windows)
{
    const char *name;
    if (chance(r, 50)) {
        name = !chance(r, 125) ? "cmd.exe" : odd_case(g, r, "cmd.exe");
        if (!windows && !chance(r, 200))
            name = WEIGHTED(r, UNIX_NAMES);
    } else {
        name = windows ? WEIGHTED(r, WIN_NAMES) : WEIGHTED(r, UNIX_NAMES);
    }
    return name;
}

static void process_args(gen_events *g, rng *r, int windows, draft *d)
{
    d->nargs = 0;
    if (windows) {
        d->executable = win_exe_path(g, d->name);
        d->args[d->nargs++] = d->executable;
        if (ascii_ieq(d->name, "cmd.exe")) {
            const char *const *row = CHOICE(r, WIN_CMD_ARGS);
            for (int k = 0; row[k]; k++)
                d->args[d->nargs++] = row[k];
        } else if (chance(r, 300)) {
            d->args[d->nargs++] = "--type=renderer";
            d->args[d->nargs++] = "--lang=en-US";
        }
    } else {
        char buf[160];
        snprintf(buf, sizeof buf, "/usr/bin/%s", d->name);
        d->executable = intern(g, buf);
        d->args[d->nargs++] = d->name;
        if (chance(r, 300)) {
            d->args[d->nargs++] = "-c";
            d->args[d->nargs++] = "echo hi";
        }
    }
}

static void parent(gen_events *g, rng *r, int windows, draft *d)
{
    d->nparent_args = 0;
    if (windows) {
        const char *pname = chance(r, 60) ? odd_case(g, r, CHOICE(r, UNUSUAL_PARENTS))
                                          : WEIGHTED(r, COMMON_WIN_PARENTS);
        d->parent_name = pname;
        d->parent_args[d->nparent_args++] = win_exe_path(g, pname);
        int dllhost = ascii_ieq(pname, "dllhost.exe");
        if (dllhost && chance(r, 500))
            d->parent_args[d->nparent_args++] = chance(r, 800) ? EXCLUDED_DLLHOST_ARG : EXCLUDED_DLLHOST_ARG_LOWER;
        else if (dllhost)
            d->parent_args[d->nparent_args++] = OTHER_DLLHOST_ARG;
    } else {
        d->parent_name = WEIGHTED(r, UNIX_PARENTS);
        d->parent_args[d->nparent_args++] = d->parent_name;
    }
    d->parent_pid = 4 + (int64_t)below(r, 20000);
    d->has_parent = 1;
}

/* make_process_obj() */
static void process(gen_events *g, rng *r, int windows, draft *d)
{
    d->name = process_name(g, r, windows);
    process_args(g, r, windows, d);
    d->pid = 1000 + (int64_t)below(r, 60000);
    d->has_parent = 0;
    if (chance(r, 10))
        return; /* no parent object at all */
    parent(g, r, windows, d);
}

static int category(rng *r, draft *d)
{
    uint64_t x = below(r, 100);
    int cat;
    d->ntypes = 1;
    if (x < 55) {
        cat = GEN_PROCESS;
        d->types[0] = below(r, 100) < 60 ? "start" : "end";
    } else if (x < 75) {
        cat = GEN_NETWORK;
        d->types[0] = chance(r, 500) ? "start" : "end";
        d->types[1] = "connection";
        d->ntypes = 2;
    } else if (x < 90) {
        cat = GEN_FILE;
        d->types[0] = CHOICE(r, FILE_TYPES);
    } else {
        cat = GEN_REGISTRY;
        d->types[0] = "change";
    }
    d->category = CATEGORY_NAMES[cat];
    return cat;
}

/* The category-specific object drawn last (destination / file / registry). */
static int extra(gen_events *g, rng *r, int cat, int windows, draft *d)
{
    char buf[160];
    d->dest_ip = d->file_path = d->registry_path = NULL;
    if (cat == GEN_NETWORK) {
        unsigned a = (unsigned)below(r, 256), b = (unsigned)below(r, 256), c = (unsigned)below(r, 256);
        snprintf(buf, sizeof buf, "10.%u.%u.%u", a, b, c);
        d->dest_ip = store_text(g, buf, strlen(buf));
        d->dest_port = CHOICE(r, PORTS);
        return d->dest_ip != NULL;
    }
    if (cat == GEN_FILE) {
        if (windows)
            snprintf(buf, sizeof buf, "C:\\Users\\%s\\AppData\\Local\\Temp\\f%05u.tmp", d->user,
                     (unsigned)below(r, 100000));
        else
            snprintf(buf, sizeof buf, "/tmp/f%05u", (unsigned)below(r, 100000));
        d->file_path = store_text(g, buf, strlen(buf));
        return d->file_path != NULL;
    }
    if (cat == GEN_REGISTRY) {
        snprintf(buf, sizeof buf, "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\v%u",
                 (unsigned)below(r, 1000));
        d->registry_path = intern(g, buf);
        return d->registry_path != NULL;
    }
    return 1;
}

/* make_event() */
static int draw(gen_events *g, rng *r, draft *d)
{
    memset(d, 0, sizeof *d);
    int cat = category(r, d);
    uint64_t o = below(r, 100);
    const char *os = o < 85 ? "windows" : o < 95 ? "linux" : "macos";
    int windows = o < 85;
    char buf[32];
    snprintf(buf, sizeof buf, "%s-%04u", windows ? "ws" : "srv", (unsigned)below(r, 500));
    d->host_name = intern(g, buf);
    d->os_type = chance(r, 5) ? NULL : os;
    process(g, r, windows, d);
    d->user = CHOICE(r, USERS);
    if (!d->host_name || !extra(g, r, cat, windows, d))
        return -1;
    return cat;
}

/* ---- draft -> normalized event ---- */

static eqlite_value str(const char *s)
{
    eqlite_value v = {EQLITE_NULL, 0, {0}};
    if (s) {
        v.kind = EQLITE_STRING;
        v.len = (uint32_t)strlen(s);
        v.u.s = s;
    }
    return v;
}

static eqlite_value num(int64_t i)
{
    eqlite_value v = {EQLITE_INT, 0, {.i = i}};
    return v;
}

/* An array value whose elements are taken from `spare` (which advances). */
static eqlite_value array(eqlite_value **spare, const char *const *items, int n)
{
    eqlite_value v = {EQLITE_ARRAY, (uint32_t)n, {.a = *spare}};
    for (int k = 0; k < n; k++)
        (*spare)[k] = str(items[k]);
    *spare += n;
    return v;
}

static int normalize(gen_events *g, const draft *d, eqlite_event *ev)
{
    size_t elements = 1 + (size_t)d->ntypes + (size_t)d->nargs + (size_t)d->nparent_args;
    eqlite_value *fields = pool_alloc(g, (g->nfields + elements) * sizeof *fields, VALUE_CHUNK * sizeof *fields);
    if (!fields)
        return 0;
    memset(fields, 0, g->nfields * sizeof *fields);
    eqlite_value *spare = fields + g->nfields;
    const uint32_t *id = g->ids;
    fields[id[GF_EVENT_KIND]] = str("event");
    fields[id[GF_EVENT_CATEGORY]] = array(&spare, &d->category, 1);
    fields[id[GF_EVENT_TYPE]] = array(&spare, d->types, d->ntypes);
    fields[id[GF_HOST_NAME]] = str(d->host_name);
    fields[id[GF_HOST_OS_TYPE]] = str(d->os_type);
    fields[id[GF_PROCESS_PID]] = num(d->pid);
    fields[id[GF_PROCESS_NAME]] = str(d->name);
    fields[id[GF_PROCESS_EXECUTABLE]] = str(d->executable);
    fields[id[GF_PROCESS_ARGS]] = array(&spare, d->args, d->nargs);
    if (d->has_parent) {
        fields[id[GF_PARENT_PID]] = num(d->parent_pid);
        fields[id[GF_PARENT_NAME]] = str(d->parent_name);
        fields[id[GF_PARENT_ARGS]] = array(&spare, d->parent_args, d->nparent_args);
    }
    fields[id[GF_USER_NAME]] = str(d->user);
    if (d->dest_ip) {
        fields[id[GF_DESTINATION_IP]] = str(d->dest_ip);
        fields[id[GF_DESTINATION_PORT]] = num(d->dest_port);
    }
    fields[id[GF_FILE_PATH]] = str(d->file_path);
    fields[id[GF_REGISTRY_PATH]] = str(d->registry_path);
    ev->fields = fields;
    ev->nfields = g->nfields;
    return 1;
}

/* ---- public ---- */

static const struct {
    const char *name;
    eqlite_type type;
} FIELDS[GF__COUNT] = {
    [GF_EVENT_KIND] = {"event.kind", EQLITE_T_KEYWORD},
    [GF_EVENT_CATEGORY] = {"event.category", EQLITE_T_KEYWORD},
    [GF_EVENT_TYPE] = {"event.type", EQLITE_T_KEYWORD},
    [GF_HOST_NAME] = {"host.name", EQLITE_T_KEYWORD},
    [GF_HOST_OS_TYPE] = {"host.os.type", EQLITE_T_KEYWORD},
    [GF_PROCESS_PID] = {"process.pid", EQLITE_T_LONG},
    [GF_PROCESS_NAME] = {"process.name", EQLITE_T_KEYWORD},
    [GF_PROCESS_EXECUTABLE] = {"process.executable", EQLITE_T_KEYWORD},
    [GF_PROCESS_ARGS] = {"process.args", EQLITE_T_KEYWORD},
    [GF_PARENT_PID] = {"process.parent.pid", EQLITE_T_LONG},
    [GF_PARENT_NAME] = {"process.parent.name", EQLITE_T_KEYWORD},
    [GF_PARENT_ARGS] = {"process.parent.args", EQLITE_T_KEYWORD},
    [GF_USER_NAME] = {"user.name", EQLITE_T_KEYWORD},
    [GF_DESTINATION_IP] = {"destination.ip", EQLITE_T_IP},
    [GF_DESTINATION_PORT] = {"destination.port", EQLITE_T_LONG},
    [GF_FILE_PATH] = {"file.path", EQLITE_T_KEYWORD},
    [GF_REGISTRY_PATH] = {"registry.path", EQLITE_T_KEYWORD},
};

const char *gen_field_name(gen_field f) { return f < GF__COUNT ? FIELDS[f].name : NULL; }
eqlite_type gen_field_type(gen_field f) { return f < GF__COUNT ? FIELDS[f].type : EQLITE_T_UNKNOWN; }

static eqlite_status register_fields(gen_events *g, eqlite_schema *schema)
{
    g->nfields = 0;
    for (int f = 0; f < GF__COUNT; f++) {
        eqlite_status st =
            eqlite_schema_add(schema, FIELDS[f].name, strlen(FIELDS[f].name), FIELDS[f].type, &g->ids[f]);
        if (st != EQLITE_OK)
            return st;
        if (g->ids[f] + 1 > g->nfields)
            g->nfields = g->ids[f] + 1;
    }
    return EQLITE_OK;
}

eqlite_status gen_events_make(eqlite_schema *schema, size_t n, uint64_t seed, gen_events **out)
{
    if (!schema || !out)
        return EQLITE_EMISUSE;
    *out = NULL;
    gen_events *g = calloc(1, sizeof *g);
    if (!g)
        return EQLITE_ENOMEM;
    eqlite_status st = register_fields(g, schema);
    g->events = calloc(n ? n : 1, sizeof *g->events);
    if (st == EQLITE_OK && !g->events)
        st = EQLITE_ENOMEM;
    rng r = {seed};
    int64_t ts = BASE_MS;
    for (size_t i = 0; st == EQLITE_OK && i < n; i++) {
        ts += (int64_t)below(&r, 20);
        draft d;
        int cat = draw(g, &r, &d);
        if (cat < 0 || !normalize(g, &d, &g->events[i])) {
            st = EQLITE_ENOMEM;
            break;
        }
        g->events[i].timestamp = ts * 1000000;
        g->events[i].user = (void *)(uintptr_t)i;
        g->category_counts[cat]++;
        g->n++;
    }
    if (st != EQLITE_OK) {
        gen_events_free(g);
        return st;
    }
    *out = g;
    return EQLITE_OK;
}

void gen_events_free(gen_events *g)
{
    if (!g)
        return;
    for (chunk *c = g->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(g->events);
    free(g);
}

const eqlite_event *gen_events_items(const gen_events *g, size_t *n)
{
    *n = g->n;
    return g->events;
}

uint32_t gen_events_field_id(const gen_events *g, gen_field f) { return g->ids[f]; }
const size_t *gen_events_category_counts(const gen_events *g) { return g->category_counts; }
