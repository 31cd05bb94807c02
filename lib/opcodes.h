/* opcodes.h: THE opcode list. One X-macro generates the enum, the name
 * table, the disassembler's operand formats, the stack effects (codegen sizes
 * each rule's value stack from them) and the VM's dispatch table.
 *
 * An instruction is {op, x, y, a, b}. a is a field id, a jump target or
 * unused; b a constant or a pattern-set index. x is one small operand whose
 * meaning the opcode's format letter names, so the disassembly spells it:
 *   v  x = tri-state value (0 false, 1 true, 2 null)        SET_ACC
 *   c  x = comparison, eq_cmp_op (== != < <= > >=)          CMP, F_CMP
 *   a  x = arithmetic, eq_arith_op (+ - * / %)              ARITH
 *   i  x = 1: caseless (in~)                                IN, F_IN
 *   g  x = 1: a guard (see below)                           F_STR_EQ, F_STR_EQ_I
 *   C  x = function id | 0x80 for the ~ form, y = argc      CALL
 *   s  b = element slot                                     LOAD_ELEM
 *   S  y = element slots the condition uses                 NEXT_ELEM
 * Other letters: F field a, K constant b, P pattern set b, L label a,
 * n y = count of constants. y also carries a mode where noted.
 * Stack effect is in values; acc is the tri-state register (0 F, 1 T, 2 null). */
#ifndef EQ_OPCODES_H
#define EQ_OPCODES_H

#define EQ_OPCODES(X)                                                                              \
    X(RET, "", 0)           /* return acc; the values left on the stack are the results */          \
    X(JUMP, "L", 0)         /* jump to a */                                                         \
    X(JF, "L", 0)           /* jump to a if acc is false */                                         \
    X(JNT, "L", 0)          /* jump to a if acc is not true (null counts as false) */               \
    X(JT, "L", 0)           /* jump to a if acc is true */                                          \
    X(SET_ACC, "v", 0)      /* acc = x */                                                           \
    X(NOT, "", 0)           /* acc = three-valued not acc */                                        \
    X(PUSH_ACC, "", 1)      /* push acc as a boolean (or null) value */                             \
    X(AND3, "", -1)         /* acc = pop and acc, three-valued */                                   \
    X(OR3, "", -1)          /* acc = pop or acc, three-valued */                                    \
    X(TRUTH, "", -1)        /* acc = pop as a condition (true, false, or null) */                   \
    X(LOAD_FIELD, "F", 1)   /* push the value of field a */                                         \
    X(LOAD_TS, "", 1)       /* push the event's timestamp (a date) */                               \
    X(LOAD_CONST, "K", 1)   /* push constant b */                                                   \
    X(CMP, "c", -2)         /* acc = pop2 compared by x (y=2: two nulls are equal) */               \
    X(IS_NULL, "", -1)      /* acc = pop is null */                                                 \
    X(NOT_NULL, "", -1)     /* acc = pop is not null */                                             \
    X(IN, "Kni", -1)        /* acc = pop equals any of y constants from b */                        \
    X(MATCH, "P", -1)       /* acc = pop matches pattern set b (: like regex, wildcards) */         \
    X(ARITH, "a", -1)       /* push pop2 <x> pop (y=1: Java int operands, 32-bit overflow) */       \
    X(NEG, "", 0)           /* negate the top value (y=1: Java int) */                              \
    X(CALL, "C", 0)         /* pop y arguments, push function x's result */                         \
    X(F_IS_NULL, "F", 0)    /* acc = field a is null or absent */                                   \
    X(F_NOT_NULL, "F", 0)   /* acc = field a is not null */                                         \
    X(F_STR_EQ, "FKg", 0)   /* acc = field a == "constant b" (any element) */                       \
    X(F_STR_EQ_I, "FKg", 0) /* acc = field a : "constant b" without wildcards (folded) */           \
    X(F_MATCH, "FP", 0)     /* acc = field a matches pattern set b (in, :, like, regex) */          \
    X(F_CMP, "FcK", 0)      /* acc = field a <x> constant b (y=1: as dates) */                      \
    X(F_IN, "FKni", 0)      /* acc = field a equals any of y constants from b */                     \
    X(LOAD_ELEM, "Fs", 1)   /* push the element of field a that slot b points at */                 \
    X(NEXT_ELEM, "LS", 0)   /* acc = or of all element choices: next choice, jump to a */

/* Multi-valued fields under functions and arithmetic. Elasticsearch runs a
 * condition such as `length(process.args) > 3` as a script that tries every
 * value of each field it reads (Scripts.multiValueDocValuesRewrite, each read
 * its own variable): true when some choice is. Codegen gives each such field
 * read a slot (LOAD_ELEM) and ends the condition with NEXT_ELEM, which keeps
 * the three-valued or of the choices tried and steps the slots like an
 * odometer until one is true or all were tried (EQ_ELEM_CHOICES at most). */

/* Guards: codegen sets x = 1 on the leading F_STR_EQ / F_STR_EQ_I of a
 * filter that are each followed by a JNT whose target is a RET. The VM's
 * entry (eq_vm_run, eqlite_match) runs such a prefix in a tight loop before
 * entering the interpreter, and the ruleset index reads them as the rule's
 * guards; the instructions mean the same either way. EXPLAIN shows "guard". */

typedef enum eq_opcode {
#define EQ_OP_ENUM(name, fmt, effect) OP_##name,
    EQ_OPCODES(EQ_OP_ENUM)
#undef EQ_OP_ENUM
        OP__COUNT
} eq_opcode;

#endif
