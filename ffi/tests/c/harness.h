/*
 * A tiny test harness for the C tests of rolltoken: CHECK(expr) counts one assertion, prints
 * the failing expression with its place, and the program ends with
 * "<name>: N passed, M failed" (exit status 1 when anything failed). Plain C99.
 */
#ifndef ROLLTOKEN_TEST_HARNESS_H
#define ROLLTOKEN_TEST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rolltoken.h"

static unsigned long harness_passed;
static unsigned long harness_failed;
/* What is being checked right now (a test name, a vector's tcId), printed on failures. */
static char harness_where[160];

static inline int harness_check(int ok, const char *expr, const char *file, int line)
{
    if (ok) {
        harness_passed++;
    } else {
        harness_failed++;
        fprintf(stderr, "FAIL %s:%d [%s]: %s\n", file, line, harness_where, expr);
    }
    return ok;
}

/* One assertion. Evaluates to the truth of `expr`, so a test can stop on a failed
 * precondition: `if (!CHECK(x)) return;`. */
#define CHECK(expr) harness_check((expr) != 0, #expr, __FILE__, __LINE__)

/* `call` returns the status `want`; on a mismatch both statuses are printed by name. */
#define CHECK_STATUS(call, want) harness_check_status((call), (want), #call, __FILE__, __LINE__)

static inline int harness_check_status(rt_status got, rt_status want, const char *call,
                                       const char *file, int line)
{
    if (got == want) {
        harness_passed++;
        return 1;
    }
    harness_failed++;
    fprintf(stderr, "FAIL %s:%d [%s]: %s returned %u (%s), expected %u (%s)\n", file, line,
            harness_where, call, (unsigned)got, rt_status_str(got), (unsigned)want,
            rt_status_str(want));
    return 0;
}

/* Two byte strings are equal (lengths and contents); prints both as text on a mismatch. */
#define CHECK_BYTES(a, alen, b, blen) \
    harness_check_bytes((const uint8_t *)(a), (alen), (const uint8_t *)(b), (blen), #a, \
                        __FILE__, __LINE__)

static inline void harness_print(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f)
            fputc(p[i], stderr);
        else
            fprintf(stderr, "\\x%02x", p[i]);
    }
}

static inline int harness_check_bytes(const uint8_t *a, size_t alen, const uint8_t *b,
                                      size_t blen, const char *what, const char *file, int line)
{
    if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) {
        harness_passed++;
        return 1;
    }
    harness_failed++;
    fprintf(stderr, "FAIL %s:%d [%s]: %s differs\n  got:  ", file, line, harness_where, what);
    harness_print(a, alen);
    fprintf(stderr, "\n  want: ");
    harness_print(b, blen);
    fputc('\n', stderr);
    return 0;
}

/* Sets the context printed with failures. */
#define WHERE(...) snprintf(harness_where, sizeof harness_where, __VA_ARGS__)

/* A check of documented behaviour that the ABI does not deliver yet (reported, see the
 * report of ffi/tests/c/run.sh). A miss is printed and counted as a known gap, not as a
 * failure; once the ABI delivers, it counts as passed and says so, so the GAP can become a
 * CHECK. */
static unsigned long harness_gaps;
static unsigned long harness_gaps_closed;
#define GAP(expr, what) harness_gap((expr) != 0, #expr, (what), __FILE__, __LINE__)

static inline int harness_gap(int ok, const char *expr, const char *what, const char *file,
                              int line)
{
    if (ok) {
        harness_passed++;
        harness_gaps_closed++;
    } else {
        harness_gaps++;
        fprintf(stderr, "KNOWN ABI GAP %s:%d [%s]: %s (%s)\n", file, line, harness_where, what,
                expr);
    }
    return ok;
}

/* Prints the closing line and returns the exit status. */
static inline int harness_finish(const char *name)
{
    if (harness_gaps > 0)
        printf("%s: %lu known ABI gaps (reported, not counted as failures)\n", name,
               harness_gaps);
    if (harness_gaps_closed > 0)
        printf("%s: %lu GAP checks now pass: turn them into CHECKs\n", name,
               harness_gaps_closed);
    printf("%s: %lu passed, %lu failed\n", name, harness_passed, harness_failed);
    return harness_failed == 0 ? 0 : 1;
}

/* Text as (pointer, length) for the byte-string parameters. */
#define STR(s) (const uint8_t *)(s), strlen(s)

#endif /* ROLLTOKEN_TEST_HARNESS_H */
