/* Secret-taint shim for the rolltoken constant-time test (ctgrind method).
 *
 * Under valgrind memcheck, bytes marked "undefined" stand for secrets: memcheck then reports
 * "Conditional jump or move depends on uninitialised value(s)" for every branch, and "Use of
 * uninitialised value" for every memory address, computed from them. Declassifying a value
 * (the final verdict) marks it defined again. Outside valgrind every request is a no-op.
 */
#include <stddef.h>
#include <valgrind/memcheck.h>

/* Mark [p, p+n) secret. */
void rt_ct_secret(void *p, size_t n) { (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n); }

/* Mark [p, p+n) public (declassify). */
void rt_ct_public(void *p, size_t n) { (void)VALGRIND_MAKE_MEM_DEFINED(p, n); }

/* 1 when running under valgrind, 0 otherwise. */
int rt_ct_on_valgrind(void) { return RUNNING_ON_VALGRIND ? 1 : 0; }

/* Errors memcheck has reported so far (0 outside valgrind). */
unsigned rt_ct_error_count(void) { return VALGRIND_COUNT_ERRORS; }

/* 1 when any bit of [p, p+n) is secret-dependent (undefined), 0 when all of it is public,
 * -1 when not under memcheck, -2 when the range is too long or not addressable.
 * Reading the shadow bits does not itself report an error. */
int rt_ct_is_secret(const void *p, size_t n) {
    unsigned char vbits[512];
    size_t i;
    int got;
    if (n > sizeof vbits) return -2;
    got = VALGRIND_GET_VBITS(p, vbits, n);
    if (got == 0) return -1;
    if (got != 1) return -2;
    for (i = 0; i < n; i++)
        if (vbits[i] != 0) return 1;
    return 0;
}
