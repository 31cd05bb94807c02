/* api.c: the public entry points: compile (parse -> verify -> generate),
 * programs, matchers and constant evaluation. */
#include <stdio.h>
#include <string.h>

#include "program.h"
#include "schema.h"
#include "sema.h"
#include "sequence.h"

static void clear_diag(eqlite_diag *diag)
{
    if (diag) {
        memset(diag, 0, sizeof *diag);
        diag->line = 1;
        diag->column = 1;
    }
}

static eqlite_program *program_new(const eqlite_allocator *alloc, eqlite_schema *schema)
{
    eqlite_program *prog = eq_malloc(alloc, sizeof *prog);
    if (!prog)
        return NULL;
    memset(prog, 0, sizeof *prog);
    prog->alloc = alloc;
    prog->schema = schema;
    eq_arena_init(&prog->arena, alloc);
    return prog;
}

void eqlite_program_free(eqlite_program *prog)
{
    if (!prog)
        return;
    for (uint32_t k = 0; k < prog->nregexes; k++)
        eq_regex_free(prog->regexes[k]);
    const eqlite_allocator *alloc = prog->alloc;
    eq_arena_free(&prog->arena);
    eq_free(alloc, prog);
}

/* Parses into p (arena owned by the caller). `diag` must outlive p. */
eqlite_status eq_parse_only(eq_arena *arena, const char *src, size_t len, bool expression, eq_parse *p,
                            eqlite_diag *diag)
{
    memset(p, 0, sizeof *p);
    p->arena = arena;
    p->src = src ? src : "";
    p->len = src ? len : 0;
    p->diag = diag;
    p->expression_mode = expression;
    clear_diag(p->diag);
    if (!eq_parse_text(p))
        return p->diag->code ? p->diag->code : EQLITE_ESYNTAX;
    return EQLITE_OK;
}

/* Parses and verifies into p. */
static eqlite_status front_end(eq_parse *p, eq_arena *arena, eqlite_schema *schema, const char *src, size_t len,
                               bool expression, eqlite_diag *diag)
{
    eqlite_status st = eq_parse_only(arena, src, len, expression, p, diag);
    if (st == EQLITE_OK && !eq_sema(p, schema))
        st = p->diag->code ? p->diag->code : EQLITE_ETYPE;
    return st;
}

eqlite_status eqlite_compile(eqlite_schema *schema, const char *src, size_t len, eqlite_program **out,
                             eqlite_diag *diag)
{
    if (!out || !schema || (!src && len)) {
        clear_diag(diag);
        if (diag) {
            diag->code = EQLITE_EMISUSE;
            snprintf(diag->message, sizeof diag->message, "eqlite_compile: invalid arguments");
        }
        return EQLITE_EMISUSE;
    }
    *out = NULL;
    eqlite_program *prog = program_new(schema->alloc, schema);
    if (!prog)
        return EQLITE_ENOMEM;
    eq_arena ast_arena;
    eq_arena_init(&ast_arena, schema->alloc);
    eq_parse p;
    eqlite_diag local;
    eqlite_status st = front_end(&p, &ast_arena, schema, src, len, false, diag ? diag : &local);
    if (st == EQLITE_OK && !eq_codegen(&p, prog))
        st = p.diag->code ? p.diag->code : EQLITE_ENOMEM;
    eq_arena_free(&ast_arena);
    if (st != EQLITE_OK) {
        eqlite_program_free(prog);
        return st;
    }
    *out = prog;
    return EQLITE_OK;
}

const uint32_t *eqlite_program_fields(const eqlite_program *prog, size_t *n)
{
    if (n)
        *n = prog ? prog->nfields : 0;
    return prog ? prog->fields : NULL;
}

eqlite_status eqlite_program_explain(const eqlite_program *prog, char *buf, size_t cap, size_t *needed)
{
    if (!prog || (!buf && cap))
        return EQLITE_EMISUSE;
    size_t len = eq_disassemble(prog, buf, cap);
    if (needed)
        *needed = len + 1;
    return len < cap ? EQLITE_OK : EQLITE_ELIMIT;
}

eqlite_query_kind eqlite_program_kind(const eqlite_program *prog)
{
    return prog ? (eqlite_query_kind)prog->kind : EQLITE_QUERY_INVALID;
}

eqlite_status eqlite_program_info_get(const eqlite_program *prog, eqlite_program_info *out)
{
    if (!prog || !out)
        return EQLITE_EMISUSE;
    *out = (eqlite_program_info){.kind = (eqlite_query_kind)prog->kind, .npipes = prog->npipes};
    for (uint32_t k = 0; k < prog->npipes; k++)
        out->has_tail |= prog->pipes[k].tail;
    if (prog->kind != EQLITE_QUERY_EVENT) {
        out->nstages = prog->nterms + prog->has_until;
        out->has_until = prog->has_until;
        out->nkeys = prog->nterms ? prog->terms[0].nkeys : 0;
    }
    return EQLITE_OK;
}

/* Join keys are fields, so a stage's key code is one load per key, then RET
 * (LOAD_FIELD; LOAD_TS for the timestamp field; LOAD_CONST null for a field
 * the schema lacks). */
eqlite_status eqlite_program_stage_key(const eqlite_program *prog, size_t stage, size_t k, uint32_t *id,
                                       unsigned *flags)
{
    if (!prog || prog->kind == EQLITE_QUERY_EVENT || stage >= (size_t)prog->nterms + prog->has_until)
        return EQLITE_EMISUSE;
    const eq_prog_term *t = stage < prog->nterms ? &prog->terms[stage] : &prog->until;
    if (k >= t->nkeys)
        return EQLITE_EMISUSE;
    if (flags)
        *flags = (t->key_optional && t->key_optional[k] ? EQLITE_KEY_OPTIONAL : 0) |
                 (t->missing ? EQLITE_STAGE_MISSING : 0);
    if (prog->code[t->keys_pc + t->nkeys].op != OP_RET || prog->code[t->keys_pc + k].op != OP_LOAD_FIELD)
        return EQLITE_ENOTFOUND;
    if (id)
        *id = prog->code[t->keys_pc + k].a;
    return EQLITE_OK;
}

eqlite_status eqlite_eval_constant(const char *src, size_t len, eqlite_value *out, char *buf, size_t cap,
                                   eqlite_diag *diag)
{
    if (!out || (!src && len) || (!buf && cap))
        return EQLITE_EMISUSE;
    memset(out, 0, sizeof *out);
    const eqlite_allocator *alloc = eq_default_allocator();
    eqlite_program *prog = program_new(alloc, NULL);
    if (!prog)
        return EQLITE_ENOMEM;
    eq_arena ast_arena;
    eq_arena_init(&ast_arena, alloc);
    eq_parse p;
    eqlite_diag local;
    uint32_t pc = 0;
    eqlite_status st = front_end(&p, &ast_arena, NULL, src, len, true, diag ? diag : &local);
    if (st == EQLITE_OK && !eq_codegen_expression(&p, prog, &pc))
        st = p.diag->code ? p.diag->code : EQLITE_ENOMEM;
    if (st == EQLITE_OK) {
        eqlite_matcher m;
        bool ready = eq_vm_init(&m, prog, alloc);
        static const eqlite_event empty;
        uint32_t nv = 0;
        if (ready)
            eq_vm_run_values(&m, pc, &empty, &nv);
        else
            st = EQLITE_ENOMEM;
        if (st == EQLITE_OK && m.scratch.error)
            st = eq_scratch_take_error(&m.scratch);
        *out = nv ? m.stack[0] : (eqlite_value){0};
        if (st == EQLITE_OK && out->kind == EQLITE_STRING) {
            if (!buf || cap <= out->len) {
                st = EQLITE_ELIMIT;
                memset(out, 0, sizeof *out);
            } else {
                memcpy(buf, out->u.s, out->len);
                buf[out->len] = 0;
                out->u.s = buf;
            }
        }
        eq_vm_release(&m);
    }
    eq_arena_free(&ast_arena);
    eqlite_program_free(prog);
    return st;
}

/* ---- matchers ---- */

eqlite_status eqlite_matcher_new(const eqlite_program *prog, const eqlite_limits *limits, eqlite_matcher **out)
{
    if (!prog || !out)
        return EQLITE_EMISUSE;
    *out = NULL;
    eqlite_matcher *m = eq_malloc(prog->alloc, sizeof *m);
    if (!m)
        return EQLITE_ENOMEM;
    bool ready = eq_vm_init(m, prog, prog->alloc);
    if (limits)
        m->limits = *limits;
    if (!ready || eq_seq_init(m) != EQLITE_OK) {
        eq_vm_release(m);
        eq_free(prog->alloc, m);
        return EQLITE_ENOMEM;
    }
    *out = m;
    return EQLITE_OK;
}

void eqlite_matcher_free(eqlite_matcher *m)
{
    if (!m)
        return;
    eq_seq_release(m);
    eq_vm_release(m);
    eq_free(m->alloc, m);
}

/* eqlite_match is in vm.c, with the interpreter inlined into it. */

eqlite_status eqlite_feed(eqlite_matcher *m, const eqlite_event *ev, eqlite_callback cb, void *user)
{
    if (!m || !eq_event_usable(ev))
        return EQLITE_EMISUSE;
    eqlite_status st = eq_seq_feed(m, ev, cb, user);
    eqlite_status undecided = eq_scratch_take_error(&m->scratch);
    return st != EQLITE_OK ? st : undecided;
}

eqlite_status eqlite_flush(eqlite_matcher *m, eqlite_callback cb, void *user)
{
    if (!m)
        return EQLITE_EMISUSE;
    eqlite_status st = eq_seq_flush(m, cb, user);
    eqlite_status undecided = eq_scratch_take_error(&m->scratch);
    return st != EQLITE_OK ? st : undecided;
}

eqlite_status eqlite_matcher_set_event_hooks(eqlite_matcher *m, const eqlite_event_hooks *hooks)
{
    if (!m)
        return EQLITE_EMISUSE;
    if (hooks)
        m->hooks = *hooks;
    else
        memset(&m->hooks, 0, sizeof m->hooks);
    return EQLITE_OK;
}

void eqlite_matcher_stats(const eqlite_matcher *m, eqlite_stats *out)
{
    if (!out)
        return;
    if (!m) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = m->stats;
}
