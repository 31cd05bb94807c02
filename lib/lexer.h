/* lexer.h: the re2c lexer's state (grammar/lexer.re). */
#ifndef EQ_LEXER_H
#define EQ_LEXER_H

#include "ast.h"

typedef struct eq_lexer {
    eq_parse *p;
    const unsigned char *start, *cur, *lim; /* *lim is a NUL sentinel */
    const unsigned char *line_start;
    uint32_t line;
    uint32_t depth; /* open brackets */
} eq_lexer;

void eq_lex_init(eq_lexer *lx, eq_parse *p, const unsigned char *text, size_t len);
/* Next token code (TK_*), 0 at the end, -1 on an error (diag set). */
int eq_lex_next(eq_lexer *lx, eq_token *t);

#endif
