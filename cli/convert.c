/* convert.c: `eqlite convert [--source NAME] [--profile FILE] FILE...` prints
 * the ECS document of every record as NDJSON, in input order, one line per
 * record (ECS records as they are). Uses only the public APIs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "eqlite.h"
#include "eqlite_io.h"

static void help(FILE *to)
{
    fprintf(to, "usage: eqlite convert [--source auto|NAME] [--profile FILE]... [--stats] [FILE...]\n"
                "Prints the ECS document of every record as NDJSON, in input order, one line per record\n"
                "(EVTX, vendor JSON through a source profile, ECS documents as they are).\n"
                "  --source auto|NAME  pick each record's profile by its shape (default), or force one\n"
                "  --profile FILE      load a source profile (repeatable)\n"
                "  --stats             records per profile, on stderr\n"
                "  -h, --help          this help\n");
}

static int usage(void)
{
    help(stderr);
    return 2;
}

/* Reads a whole file (profiles are small). NULL on failure, message printed. */
char *cli_read_small_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    if (!buf || ferror(f)) {
        fprintf(stderr, "eqlite: cannot read %s\n", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

int cli_load_profiles(eqlite_sources *sources, const char *path)
{
    size_t len;
    char *text = cli_read_small_file(path, &len);
    if (!text)
        return 2;
    char err[512];
    eqlite_status st = eqlite_sources_add(sources, text, len, path, err, sizeof err);
    free(text);
    if (st != EQLITE_OK) {
        fprintf(stderr, "eqlite: %s\n", err);
        return 2;
    }
    return 0;
}

void cli_print_source_counts(FILE *f, const eqlite_sources *sources, const uint64_t *counts)
{
    size_t n = eqlite_sources_count(sources);
    fprintf(f, "sources:");
    for (size_t i = 0; i <= n; i++)
        if (counts[i])
            fprintf(f, " %s %llu", i < n ? eqlite_sources_name(sources, i) : "unknown-shape",
                    (unsigned long long)counts[i]);
    fprintf(f, "\n");
}

int cmd_convert(int argc, char **argv)
{
    const char *source = "auto";
    bool stats = false;
    eqlite_sources *sources = NULL;
    char err[512];
    if (eqlite_sources_new(&sources, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: %s\n", err);
        return 2;
    }
    int i = 1, rc = 0;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "--source") && i + 1 < argc)
            source = argv[++i];
        else if (!strncmp(argv[i], "--source=", 9))
            source = argv[i] + 9;
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc) {
            if ((rc = cli_load_profiles(sources, argv[++i])) != 0)
                goto done;
        } else if (!strcmp(argv[i], "--stats")) {
            stats = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            help(stdout);
            goto done;
        }
        else if (!strcmp(argv[i], "--")) {
            i++;
            break;
        } else {
            rc = usage();
            goto done;
        }
    }
    eqlite_schema *schema = NULL;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK) {
        fprintf(stderr, "eqlite: out of memory\n");
        rc = 2;
        goto done;
    }
    size_t nsources = eqlite_sources_count(sources);
    uint64_t *counts = calloc(nsources + 1, sizeof *counts);
    static char *const stdin_only[] = {"-"};
    char *const *paths = i < argc ? argv + i : stdin_only;
    size_t npaths = i < argc ? (size_t)(argc - i) : 1;
    for (size_t k = 0; counts && k < npaths; k++) {
        eqlite_reader_options o = {.schema = schema, .timestamp_field = "", .sources = sources, .source = source};
        eqlite_reader *rd = NULL;
        eqlite_status st = eqlite_reader_open_path(paths[k], &o, &rd, err, sizeof err);
        if (st != EQLITE_OK) {
            fprintf(stderr, "eqlite: cannot read %s: %s\n", paths[k], err);
            rc = 2;
            if (st == EQLITE_ENOTFOUND)
                break;
            continue;
        }
        eqlite_event ev;
        eqlite_record rec;
        for (int got; (got = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF;) {
            if (got == EQLITE_READ_EVENT) {
                fwrite(rec.text, 1, rec.len, stdout);
                putchar('\n');
            } else if (got == EQLITE_READ_BAD) {
                if (rec.number)
                    fprintf(stderr, "%s:%llu: %s\n", rec.file, (unsigned long long)rec.number, rec.reason);
                else
                    fprintf(stderr, "%s: %s\n", rec.file, rec.reason);
            } else {
                fprintf(stderr, "%s: %s\n", rec.file, rec.reason);
                rc = 2;
                break;
            }
        }
        for (size_t s = 0; s <= nsources; s++)
            counts[s] += eqlite_reader_source_count(rd, s);
        eqlite_reader_close(rd);
    }
    if (!counts) {
        fprintf(stderr, "eqlite: out of memory\n");
        rc = 2;
    } else if (stats) {
        cli_print_source_counts(stderr, sources, counts);
    }
    free(counts);
    eqlite_schema_free(schema);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("eqlite: stdout");
        rc = 2;
    }
done:
    eqlite_sources_free(sources);
    return rc;
}
