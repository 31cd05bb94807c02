/* ast.h: the syntax tree the grammar builds (arena-owned), and the parse
 * context shared by the lexer, the grammar actions and the verifier. */
#ifndef EQ_AST_H
#define EQ_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "eqlite.h"

/* Documented limits (README "Limits"). */
#define EQ_MAX_RULE_BYTES (16u << 20) /* rule text */
#define EQ_MAX_DEPTH 256              /* expression nesting */
#define EQ_MAX_PARENS 256             /* bracket nesting in the lexer */
#define EQ_MAX_LIST 1000000           /* values in one list / terms in one and-chain */
#define EQ_MAX_TERMS 256              /* sequence / sample terms after runs expansion */
#define EQ_MAX_RUNS 100

typedef enum eq_node_kind {
    N_NULL,
    N_BOOL,
    N_INT,
    N_DOUBLE,
    N_STRING,
    N_FIELD,
    N_NOT,
    N_AND, /* n-ary */
    N_OR,  /* n-ary */
    N_CMP,
    N_ARITH,
    N_NEG,
    N_PRED, /* lhs in kids[0], list in kids[1..] */
    N_CALL
} eq_node_kind;

typedef enum eq_cmp_op { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE } eq_cmp_op;
typedef enum eq_arith_op { AR_ADD, AR_SUB, AR_MUL, AR_DIV, AR_MOD } eq_arith_op;
typedef enum eq_pred_op { PR_IN, PR_IN_I, PR_SEQ, PR_LIKE, PR_LIKE_I, PR_REGEX, PR_REGEX_I } eq_pred_op;

enum eq_node_flags {
    NF_OPTIONAL = 1,   /* ?field */
    NF_NEGATED = 2,    /* not in / not in~ */
    NF_TILDE = 4,      /* fn~(...) */
    NF_PAREN = 8,      /* written in parentheses (keeps and/or chains apart for fmt) */
    NF_LIST = 16,      /* predicate written with a parenthesised list */
    NF_HAS_INDEX = 32, /* field path with [n] */
    NF_RAW = 64,       /* string written as """raw""" */
    NF_QUOTED = 128    /* field path contains a `backquoted` part */
};

typedef struct eq_node eq_node;
struct eq_node {
    uint8_t kind;
    uint8_t op;
    uint8_t flags;
    uint8_t type;     /* sema: eq_vtype */
    uint32_t depth;   /* nesting depth, for the limit */
    uint32_t off;     /* source span */
    uint32_t len;
    union {
        int64_t i;
        double d;
        int b;
        struct {
            const char *s; /* decoded string / dotted field name / function name */
            uint32_t n;
        } str;
    } v;
    eq_node **kids;
    uint32_t nkids, capkids;
    int32_t field_id; /* sema: schema id, -1 = none */
    int32_t fn;       /* sema: function id */
};

typedef struct eq_list {
    eq_node **items;
    uint32_t n, cap;
} eq_list;

typedef struct eq_term {
    eq_node *filter;      /* the where-condition */
    const char *category; /* NULL for any */
    uint32_t catlen;
    uint32_t off, len;    /* the term's span */
    eq_list keys;         /* per-term join keys */
    bool missing;         /* ![...] */
    bool has_with;        /* with runs=... */
    int64_t runs;
    uint32_t with_off, with_len;
    const char *with_name;
    uint32_t with_name_len;
} eq_term;

typedef struct eq_pipe {
    const char *name;
    uint32_t namelen;
    uint32_t off, len;
    eq_list args;
} eq_pipe;

typedef enum eq_query_kind { Q_EVENT, Q_SEQUENCE, Q_SAMPLE, Q_JOIN } eq_query_kind;

typedef struct eq_query {
    eq_query_kind kind;
    eq_list keys; /* global join keys */
    eq_term **terms;
    uint32_t nterms, capterms;
    eq_term *until;
    bool has_maxspan;
    bool with_before_by; /* `sequence with maxspan=.. by ..` (rejected) */
    eq_node *maxspan;     /* number literal */
    const char *maxspan_unit;
    uint32_t maxspan_unit_len;
    uint32_t maxspan_off, maxspan_len;
    int64_t maxspan_ns; /* sema */
    eq_pipe *pipes;
    uint32_t npipes, cappipes;
} eq_query;

/* A token as the lexer hands it to the grammar. */
typedef struct eq_token {
    uint32_t off, len;
    uint32_t line, col;
    const char *s; /* decoded text (strings, identifiers) */
    uint32_t n;
    int64_t i;
    double d;
    bool big; /* integer literal beyond int64 */
} eq_token;

/* A comment's byte span. The grammar never sees comments; fmt asks for them
 * (keep_comments) and puts them back by position. */
typedef struct eq_comment {
    uint32_t off, len;
} eq_comment;

typedef struct eq_parse {
    eq_arena *arena;
    const char *src;
    size_t len;
    eq_query *query;
    eq_node *expr; /* for eval: a bare expression */
    eqlite_diag *diag;
    bool failed;
    bool expression_mode;
    bool keep_comments;   /* set before eq_parse_text: the lexer records comments */
    eq_comment *comments; /* in source order */
    uint32_t ncomments, capcomments;
} eq_parse;

/* First error wins; later calls are ignored. */
void eq_error(eq_parse *p, eqlite_status code, uint32_t off, uint32_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void eq_pos_of(const char *src, size_t len, size_t off, unsigned *line, unsigned *col);

/* Builders called from the grammar's one-line actions. */
eq_node *ast_literal(eq_parse *p, eq_node_kind kind, const eq_token *t);
eq_node *ast_field(eq_parse *p, const eq_token *first, bool quoted);
eq_node *ast_field_append(eq_parse *p, eq_node *field, const eq_token *part, bool quoted);
eq_node *ast_field_index(eq_parse *p, eq_node *field, const eq_token *idx);
eq_node *ast_optional(eq_parse *p, const eq_token *q, eq_node *field);
eq_node *ast_unary(eq_parse *p, eq_node_kind kind, const eq_token *op, eq_node *x);
eq_node *ast_logic(eq_parse *p, eq_node_kind kind, eq_node *a, eq_node *b);
eq_node *ast_binary(eq_parse *p, eq_node_kind kind, int op, eq_node *a, eq_node *b);
eq_node *ast_predicate(eq_parse *p, eq_pred_op op, bool negated, eq_node *lhs, eq_list *rhs,
                       bool paren_list, const eq_token *end);
eq_node *ast_call(eq_parse *p, const eq_token *name, bool tilde, eq_list *args,
                  const eq_token *rparen);
eq_node *ast_paren(eq_node *x);
eq_list ast_list_new(eq_parse *p, eq_node *first);
eq_list ast_list_empty(void);
void ast_list_append(eq_parse *p, eq_list *list, eq_node *x);

eq_term *ast_term(eq_parse *p, const eq_token *lb, const eq_token *cat, bool any, eq_node *cond,
                  const eq_token *rb, bool missing);
void ast_term_keys(eq_parse *p, eq_term *t, eq_list *keys);
void ast_term_with(eq_parse *p, eq_term *t, const eq_token *name, const eq_token *value);
eq_query *ast_query(eq_parse *p, eq_query_kind kind);
void ast_query_add_term(eq_parse *p, eq_query *q, eq_term *t);
void ast_query_maxspan(eq_parse *p, eq_query *q, const eq_token *kw, eq_node *num,
                       const eq_token *unit);
void ast_query_pipe(eq_parse *p, eq_query *q, const eq_token *name, eq_list *args);
void ast_finish(eq_parse *p, eq_query *q);

bool ast_node_equal(const eq_node *a, const eq_node *b);
bool ast_query_equal(const eq_query *a, const eq_query *b);

/* Lexer + parser driver (grammar/). Returns false on a syntax error (diag set). */
bool eq_parse_text(eq_parse *p);
/* Sets p up over src and parses (api.c); diag must outlive p. */
eqlite_status eq_parse_only(eq_arena *arena, const char *src, size_t len, bool expression, eq_parse *p,
                            eqlite_diag *diag);

#endif
