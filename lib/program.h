/* program.h: a compiled rule (immutable once built) and the per-thread
 * matcher state the VM runs with. */
#ifndef EQ_PROGRAM_H
#define EQ_PROGRAM_H

#include "arena.h"
#include "ast.h"
#include "eqlite.h"
#include "opcodes.h"
#include "patterns.h"
#include "value.h"

typedef struct eq_instr {
    uint8_t op;
    uint8_t x;
    uint16_t y;
    uint32_t a;
    uint32_t b;
} eq_instr;

#define EQ_TS_FIELD UINT32_MAX /* F_CMP / LOAD_FIELD operand for the event timestamp */
/* The value stack is sized per program from codegen's max_stack; a rule that
 * needs more than EQ_STACK_LIMIT slots (deep arithmetic, huge argument lists)
 * is rejected with EQLITE_ELIMIT at the expression that crosses it. */
#define EQ_STACK_LIMIT 1024
/* Field reads under functions or arithmetic in one condition (each is an
 * element slot, see opcodes.h), and the element choices one condition may try
 * on one event before the event is an EQLITE_ELIMIT error. */
#define EQ_ELEM_SLOTS EQ_STACK_LIMIT
#define EQ_ELEM_CHOICES (1u << 20)
#define EQ_MAX_KEYS 60 /* join keys per position (by clause + per-term keys) */

typedef struct eq_cidr_set {
    eq_cidr *items;
    uint32_t n;
} eq_cidr_set;

/* One position of a sequence/sample (or the only term of an event query). */
typedef struct eq_prog_term {
    uint32_t filter_pc; /* code returning acc */
    uint32_t keys_pc;   /* code pushing the join keys, then RET */
    uint32_t nkeys;
    bool missing;
    bool *key_optional; /* per key: ?field admits null */
} eq_prog_term;

typedef struct eq_prog_pipe {
    bool tail;
    uint64_t n;
} eq_prog_pipe;

struct eqlite_program {
    eq_arena arena; /* owns everything below */
    const eqlite_allocator *alloc;
    eqlite_schema *schema;
    int kind; /* eq_query_kind */
    eq_instr *code;
    uint32_t ncode, capcode;
    eqlite_value *consts;
    uint32_t nconsts, capconsts;
    eq_patterns **patterns;
    uint32_t npatterns, cappatterns;
    eq_cidr_set *cidrs;
    uint32_t ncidrs, capcidrs;
    eq_regex **regexes; /* owned: freed with the program */
    uint32_t nregexes, capregexes;
    uint32_t *fields; /* field ids read, for projection */
    uint32_t nfields, capfields;
    uint32_t max_stack;
    uint32_t max_elem_slots; /* LOAD_ELEM slots of the condition that uses most */
    eq_prog_term *terms; /* positions after runs expansion */
    uint32_t nterms;
    eq_prog_term until;
    bool has_until;
    bool has_maxspan;
    int64_t maxspan_ns;
    eq_prog_pipe *pipes;
    uint32_t npipes;
    uint32_t nkeys;
    char *category; /* single category of an event query, NULL for any */
};

typedef struct eq_chunk eq_chunk;

struct eqlite_matcher {
    const eqlite_program *program;
    const eqlite_allocator *alloc;
    eqlite_limits limits;
    eqlite_stats stats;
    eqlite_value *stack; /* stack_cap slots, at least program->max_stack */
    uint32_t stack_cap;
    eq_scratch scratch;  /* folding subjects */
    eq_chunk *chunks;    /* strings made while evaluating one event */
    eq_chunk *chunk_cur;
    void *seq;           /* sequence / sample / pipe state (sequence.c) */
    struct {             /* the condition trying element choices (NEXT_ELEM); zero between conditions */
        uint32_t *at, *n; /* cap slots each, at least program->max_elem_slots */
        uint32_t cap, choices;
        int acc;
    } elem;
    eqlite_event_hooks hooks; /* held events' user data (held.c) */
    /* released held copies kept for reuse, their slots all null but the
     * program's: a completion releases one per term at once (held.c) */
    struct eq_held *spare_held;
    uint32_t nspare_held;
    size_t nheld; /* copies alive */
};

/* An event the VM can read: fields may be NULL only when there are none. */
static inline bool eq_event_usable(const eqlite_event *ev) { return ev && (ev->fields || !ev->nfields); }

/* Runs the code at pc over ev; returns acc (0 false, 1 true, 2 null). */
int eq_vm_run(eqlite_matcher *m, uint32_t pc, const eqlite_event *ev);
/* Runs value code at pc; *out gets the single value it leaves (strings live
 * until the next eq_vm_reset). Keys code leaves n values in m->stack[0..n). */
int eq_vm_run_values(eqlite_matcher *m, uint32_t pc, const eqlite_event *ev, uint32_t *nvalues);
void eq_vm_reset(eqlite_matcher *m); /* frees per-event strings (keeps the memory) */
/* false when the stack or regex scratch cannot be allocated (release anyway). */
bool eq_vm_init(eqlite_matcher *m, const eqlite_program *prog, const eqlite_allocator *alloc);
/* Grows the value stack to at least slots (programs run on a shared VM). */
/* Sizes the stack and element slots for prog (a matcher may run several). */
bool eq_vm_reserve(eqlite_matcher *m, const eqlite_program *prog);
void eq_vm_release(eqlite_matcher *m);
/* A string the VM builds (concat, substring results); NULL on allocation failure. */
char *eq_vm_alloc_string(eqlite_matcher *m, size_t n);

/* codegen.c */
bool eq_codegen(eq_parse *p, eqlite_program *prog);
bool eq_codegen_expression(eq_parse *p, eqlite_program *prog, uint32_t *pc);
size_t eq_disassemble(const eqlite_program *prog, char *buf, size_t cap);

extern const char *const eq_opcode_names[OP__COUNT];

#endif
