/* alerts.c: `eqlite alerts` — prints every alert an alert stream holds (one
 * JSON line each, as `eqlite query -r` prints them) and exits once it has
 * read up to the stream's last message. */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "nats_util.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: eqlite alerts --stream NAME [--nats URLS] [--alerts-stream NAME]\n"
               "Prints the alerts of stream NAME_ALERTS (what `eqlite worker --stream NAME` stored),\n"
               "one JSON line each, oldest first.\n");
}

int cmd_alerts(int argc, char **argv)
{
    enum { O_NATS = 256, O_STREAM, O_ASTREAM };
    static const struct option longs[] = {{"nats", required_argument, 0, O_NATS},
                                          {"stream", required_argument, 0, O_STREAM},
                                          {"alerts-stream", required_argument, 0, O_ASTREAM},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *urls = "nats://127.0.0.1:4222", *stream = NULL, *astream = NULL;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", longs, NULL)) != -1;) {
        switch (c) {
        case O_NATS: urls = optarg; break;
        case O_STREAM: stream = optarg; break;
        case O_ASTREAM: astream = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if ((!stream && !astream) || optind != argc) {
        usage(stderr);
        return 2;
    }
    char name[300];
    snprintf(name, sizeof name, "%s_ALERTS", stream ? stream : "");
    if (!astream)
        astream = name;
    natsConnection *nc = nu_connect(urls, "eqlite alerts");
    if (!nc)
        return 2;
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsSubscription *sub = NULL;
    int status = 0;
    natsStatus s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK)
        s = nu_stream_info(js, astream, &si, &jerr);
    if (s != NATS_OK) {
        status = s == NATS_NOT_FOUND ? (fprintf(stderr, "eqlite alerts: no stream %s\n", astream), 2)
                                     : nu_fail("alert stream info", s, jerr);
    } else if (si->State.Msgs > 0 && si->Config->SubjectsLen > 0) {
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = astream;
        so.Ordered = true; /* the client re-creates it after a server failure, in order */
        for (int attempt = 0; attempt < 12; attempt++) { /* a consumer is slow to make while a server is down */
            s = js_SubscribeSync(&sub, js, si->Config->Subjects[0], NULL, &so, &jerr);
            if (s != NATS_TIMEOUT && s != NATS_NO_RESPONDERS)
                break;
            nu_sleep_ms(250);
        }
        int quiet = 0;
        for (uint64_t seen = 0; s == NATS_OK;) {
            natsMsg *m = NULL;
            /* a consumer placed on a server that died is made again by the
             * client after missed heartbeats: wait through that */
            s = natsSubscription_NextMsg(&m, sub, 5000);
            if (s == NATS_TIMEOUT && ++quiet < 12) {
                s = NATS_OK;
                continue;
            }
            if (s != NATS_OK)
                break;
            quiet = 0;
            fwrite(natsMsg_GetData(m), 1, (size_t)natsMsg_GetDataLength(m), stdout);
            putchar('\n');
            jsMsgMetaData *meta = NULL;
            bool last = natsMsg_GetMetaData(&meta, m) == NATS_OK && meta->NumPending == 0;
            jsMsgMetaData_Destroy(meta);
            natsMsg_Destroy(m);
            if (last || ++seen >= si->State.Msgs)
                break;
        }
        if (s != NATS_OK)
            status = nu_fail("reading alerts", s, jerr);
    }
    if (fflush(stdout) != 0 && status == 0) {
        perror("eqlite alerts: stdout");
        status = 2;
    }
    natsSubscription_Destroy(sub);
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return status;
}
