/* parser.y: EQL grammar (Elasticsearch dialect, EQL.md §1 and §5), lemon.
 * Actions are one-line calls into lib/ast.c; nothing else happens here. */

%name eqParser
%token_prefix TK_
%token_type {eq_token}
%extra_context {eq_parse *p}
%start_symbol input

%include {
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "lexer.h"
#include "parser.h"

#define YYNOERRORRECOVERY 1

static bool eq_is_keyword_token(int code)
{
    switch (code) {
    case TK_AND: case TK_ANY: case TK_BY: case TK_FALSE: case TK_IN: case TK_IN_I: case TK_JOIN:
    case TK_LIKE: case TK_LIKE_I: case TK_MAXSPAN: case TK_NOT: case TK_NULL: case TK_OF: case TK_OR:
    case TK_REGEX: case TK_REGEX_I: case TK_SAMPLE: case TK_SEQUENCE: case TK_TRUE: case TK_UNTIL:
    case TK_WHERE: case TK_WITH: return true;
    default: return false;
    }
}
#define YYSTACKDEPTH 2000
}

%syntax_error {
    if (!p->failed) {
        if (yymajor == TK_ASSIGN)
            eq_error(p, EQLITE_ESYNTAX, TOKEN.off, TOKEN.len, "use [==] to compare, not [=]");
        else if (yymajor == 0)
            eq_error(p, EQLITE_ESYNTAX, TOKEN.off, 0, "mismatched input '<EOF>': the rule ends too early");
        else if (eq_is_keyword_token(yymajor))
            eq_error(p, EQLITE_ESYNTAX, TOKEN.off, TOKEN.len,
                     "mismatched input '%.*s' (a keyword; a field with this name must be written `%.*s`)",
                     (int)TOKEN.len, p->src + TOKEN.off, (int)TOKEN.len, p->src + TOKEN.off);
        else
            eq_error(p, EQLITE_ESYNTAX, TOKEN.off, TOKEN.len, "mismatched input '%.*s'", (int)TOKEN.len, p->src + TOKEN.off);
    }
}
%stack_overflow {
    eq_error(p, EQLITE_ELIMIT, 0, 0, "rule nested too deeply (parser stack limit %d)", YYSTACKDEPTH);
}

%left OR.
%left AND.
%right NOT.
%nonassoc EQ NE LT LE GT GE.
%left PLUS MINUS.
%left STAR SLASH PERCENT.
%right UNARY.

%token OF.

%type expr {eq_node *}
%type value {eq_node *}
%type opx {eq_node *}
%type primary {eq_node *}
%type field {eq_node *}
%type path {eq_node *}
%type constant {eq_node *}
%type exprs {eq_list}
%type args {eq_list}
%type constants {eq_list}
%type keys {eq_list}
%type query {eq_query *}
%type sequence {eq_query *}
%type sample {eq_query *}
%type join {eq_query *}
%type term {eq_term *}
%type subquery {eq_term *}
%type filter {eq_term *}

input ::= statement.
input ::= EXPRESSION_MODE expr(E). { p->expr = E; }

statement ::= query(Q) pipes. { ast_finish(p, Q); }

pipes ::= .
pipes ::= pipes PIPE IDENT(N). { ast_query_pipe(p, p->query, &N, NULL); }
pipes ::= pipes PIPE IDENT(N) exprs(A). { ast_query_pipe(p, p->query, &N, &A); }

query(Q) ::= filter(F). { Q = ast_query(p, Q_EVENT); ast_query_add_term(p, Q, F); }
query(Q) ::= sequence(S). { Q = S; }
query(Q) ::= sample(S). { Q = S; }
query(Q) ::= join(J). { Q = J; }

filter(T) ::= IDENT(C) WHERE expr(E). { T = ast_term(p, &C, &C, false, E, NULL, false); }
filter(T) ::= STRING(C) WHERE expr(E). { T = ast_term(p, &C, &C, false, E, NULL, false); }
filter(T) ::= ANY(A) WHERE expr(E). { T = ast_term(p, &A, NULL, true, E, NULL, false); }

subquery(T) ::= LBRACKET(L) filter(F) RBRACKET(R). { T = F; T->off = L.off; T->len = R.off + R.len - L.off; }
subquery(T) ::= MISSING_LBRACKET(L) filter(F) RBRACKET(R). { T = F; T->missing = true; T->off = L.off; T->len = R.off + R.len - L.off; }

term(T) ::= subquery(S). { T = S; }
term(T) ::= subquery(S) BY keys(K). { T = S; ast_term_keys(p, T, &K); }
term(T) ::= subquery(S) WITH IDENT(N) ASSIGN INTEGER(V). { T = S; ast_term_with(p, T, &N, &V); }
term(T) ::= subquery(S) BY keys(K) WITH IDENT(N) ASSIGN INTEGER(V). { T = S; ast_term_keys(p, T, &K); ast_term_with(p, T, &N, &V); }

keys(L) ::= expr(E). { L = ast_list_new(p, E); }
keys(L) ::= keys(L0) COMMA expr(E). { L = L0; ast_list_append(p, &L, E); }

sequence(Q) ::= SEQUENCE. { Q = ast_query(p, Q_SEQUENCE); }
sequence(Q) ::= SEQUENCE BY keys(K). { Q = ast_query(p, Q_SEQUENCE); Q->keys = K; }
sequence(Q) ::= SEQUENCE WITH(W) MAXSPAN ASSIGN constant(N) maxunit(U). { Q = ast_query(p, Q_SEQUENCE); ast_query_maxspan(p, Q, &W, N, &U); }
sequence(Q) ::= SEQUENCE BY keys(K) WITH(W) MAXSPAN ASSIGN constant(N) maxunit(U). { Q = ast_query(p, Q_SEQUENCE); Q->keys = K; ast_query_maxspan(p, Q, &W, N, &U); }
sequence(Q) ::= SEQUENCE WITH(W) MAXSPAN ASSIGN constant(N) maxunit(U) BY keys(K). { Q = ast_query(p, Q_SEQUENCE); Q->keys = K; Q->with_before_by = true; ast_query_maxspan(p, Q, &W, N, &U); }
sequence(Q) ::= sequence(Q0) term(T). { Q = Q0; ast_query_add_term(p, Q, T); }
sequence(Q) ::= sequence(Q0) UNTIL term(T). { Q = Q0; Q->until = T; }

%type maxunit {eq_token}
maxunit(U) ::= . { memset(&U, 0, sizeof U); }
maxunit(U) ::= IDENT(I). { U = I; }

sample(Q) ::= SAMPLE. { Q = ast_query(p, Q_SAMPLE); }
sample(Q) ::= SAMPLE BY keys(K). { Q = ast_query(p, Q_SAMPLE); Q->keys = K; }
sample(Q) ::= sample(Q0) term(T). { Q = Q0; ast_query_add_term(p, Q, T); }

join(Q) ::= JOIN. { Q = ast_query(p, Q_JOIN); }
join(Q) ::= JOIN BY keys(K). { Q = ast_query(p, Q_JOIN); Q->keys = K; }
join(Q) ::= join(Q0) term(T). { Q = Q0; ast_query_add_term(p, Q, T); }
join(Q) ::= join(Q0) UNTIL term(T). { Q = Q0; Q->until = T; }

/* ---- expressions ---- */

expr(E) ::= expr(A) OR expr(B). { E = ast_logic(p, N_OR, A, B); }
expr(E) ::= expr(A) AND expr(B). { E = ast_logic(p, N_AND, A, B); }
expr(E) ::= NOT(T) expr(A). { E = ast_unary(p, N_NOT, &T, A); }
expr(E) ::= value(V). { E = V; }

value(E) ::= opx(A). { E = A; }
value(E) ::= opx(A) EQ opx(B). { E = ast_binary(p, N_CMP, CMP_EQ, A, B); }
value(E) ::= opx(A) NE opx(B). { E = ast_binary(p, N_CMP, CMP_NE, A, B); }
value(E) ::= opx(A) LT opx(B). { E = ast_binary(p, N_CMP, CMP_LT, A, B); }
value(E) ::= opx(A) LE opx(B). { E = ast_binary(p, N_CMP, CMP_LE, A, B); }
value(E) ::= opx(A) GT opx(B). { E = ast_binary(p, N_CMP, CMP_GT, A, B); }
value(E) ::= opx(A) GE opx(B). { E = ast_binary(p, N_CMP, CMP_GE, A, B); }

opx(E) ::= opx(A) PLUS opx(B). { E = ast_binary(p, N_ARITH, AR_ADD, A, B); }
opx(E) ::= opx(A) MINUS opx(B). { E = ast_binary(p, N_ARITH, AR_SUB, A, B); }
opx(E) ::= opx(A) STAR opx(B). { E = ast_binary(p, N_ARITH, AR_MUL, A, B); }
opx(E) ::= opx(A) SLASH opx(B). { E = ast_binary(p, N_ARITH, AR_DIV, A, B); }
opx(E) ::= opx(A) PERCENT opx(B). { E = ast_binary(p, N_ARITH, AR_MOD, A, B); }
opx(E) ::= MINUS(T) opx(A). [UNARY] { E = ast_unary(p, N_NEG, &T, A); }
opx(E) ::= PLUS opx(A). [UNARY] { E = A; }
opx(E) ::= primary(A). { E = A; }
opx(E) ::= primary(A) IN LPAREN exprs(L) RPAREN(R). { E = ast_predicate(p, PR_IN, false, A, &L, true, &R); }
opx(E) ::= primary(A) NOT IN LPAREN exprs(L) RPAREN(R). { E = ast_predicate(p, PR_IN, true, A, &L, true, &R); }
opx(E) ::= primary(A) IN_I LPAREN exprs(L) RPAREN(R). { E = ast_predicate(p, PR_IN_I, false, A, &L, true, &R); }
opx(E) ::= primary(A) NOT IN_I LPAREN exprs(L) RPAREN(R). { E = ast_predicate(p, PR_IN_I, true, A, &L, true, &R); }
opx(E) ::= primary(A) matchop(O) constant(C). { eq_list l = ast_list_new(p, C); E = ast_predicate(p, (eq_pred_op)O, false, A, &l, false, NULL); }
opx(E) ::= primary(A) matchop(O) LPAREN constants(L) RPAREN(R). { E = ast_predicate(p, (eq_pred_op)O, false, A, &L, true, &R); }

%type matchop {int}
matchop(O) ::= COLON. { O = PR_SEQ; }
matchop(O) ::= LIKE. { O = PR_LIKE; }
matchop(O) ::= LIKE_I. { O = PR_LIKE_I; }
matchop(O) ::= REGEX. { O = PR_REGEX; }
matchop(O) ::= REGEX_I. { O = PR_REGEX_I; }

exprs(L) ::= expr(E). { L = ast_list_new(p, E); }
exprs(L) ::= exprs(L0) COMMA expr(E). { L = L0; ast_list_append(p, &L, E); }
constants(L) ::= constant(C). { L = ast_list_new(p, C); }
constants(L) ::= constants(L0) COMMA constant(C). { L = L0; ast_list_append(p, &L, C); }

primary(E) ::= constant(C). { E = C; }
primary(E) ::= field(F). { E = F; }
primary(E) ::= LPAREN expr(A) RPAREN. { E = ast_paren(A); }
primary(E) ::= IDENT(N) LPAREN args(A) RPAREN(R). { E = ast_call(p, &N, false, &A, &R); }
primary(E) ::= TILDE_IDENT(N) LPAREN args(A) RPAREN(R). { E = ast_call(p, &N, true, &A, &R); }

args(L) ::= . { L = ast_list_empty(); }
args(L) ::= exprs(A). { L = A; }

field(F) ::= path(P). { F = P; }
field(F) ::= QMARK(Q) path(P). { F = ast_optional(p, &Q, P); }
path(F) ::= IDENT(I). { F = ast_field(p, &I, false); }
path(F) ::= QIDENT(I). { F = ast_field(p, &I, true); }
path(F) ::= path(F0) DOT IDENT(I). { F = ast_field_append(p, F0, &I, false); }
path(F) ::= path(F0) DOT QIDENT(I). { F = ast_field_append(p, F0, &I, true); }
path(F) ::= path(F0) INDEX(I). { F = ast_field_index(p, F0, &I); }

constant(C) ::= NULL(T). { C = ast_literal(p, N_NULL, &T); }
constant(C) ::= TRUE(T). { C = ast_literal(p, N_BOOL, &T); }
constant(C) ::= FALSE(T). { C = ast_literal(p, N_BOOL, &T); }
constant(C) ::= INTEGER(T). { C = ast_literal(p, N_INT, &T); }
constant(C) ::= DECIMAL(T). { C = ast_literal(p, N_DOUBLE, &T); }
constant(C) ::= STRING(T). { C = ast_literal(p, N_STRING, &T); }

%code {
/* Drives the lexer into the parser over a NUL-terminated copy of the text. */
bool eq_parse_text(eq_parse *p)
{
    if (p->len > EQ_MAX_RULE_BYTES) {
        eq_error(p, EQLITE_ELIMIT, 0, 0, "rule is %zu bytes; the limit is %u", p->len, EQ_MAX_RULE_BYTES);
        return false;
    }
    unsigned char *text = eq_arena_alloc(p->arena, p->len + 1);
    if (!text) {
        eq_error(p, EQLITE_ENOMEM, 0, 0, "out of memory");
        return false;
    }
    if (p->len)
        memcpy(text, p->src, p->len);
    eq_lexer lx;
    eq_lex_init(&lx, p, text, p->len);
    yyParser parser;
    eqParserInit(&parser, p);
    eq_token t;
    if (p->expression_mode) {
        memset(&t, 0, sizeof t);
        eqParser(&parser, TK_EXPRESSION_MODE, t);
    }
    for (;;) {
        int code = eq_lex_next(&lx, &t);
        if (code < 0 || p->failed)
            break;
        eqParser(&parser, code, t);
        if (code == 0 || p->failed)
            break;
    }
    eqParserFinalize(&parser);
    return !p->failed;
}
}
