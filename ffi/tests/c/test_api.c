/*
 * The C ABI of rolltoken, function by function: every documented error status (NULL pointers,
 * short buffers, bad lengths, invalid UTF-8, out-of-range enum values), outputs left untouched
 * on errors, *_free(NULL), the static name functions, cookies, and three flows: a full request
 * flow through rt_sessions_handle, the store-free flow (rt_sessions_begin / rt_sessions_finish
 * over a little table standing in for "your database", with compare-and-swap and a conflict),
 * and the store-free login / logout / revocation calls.
 *
 * Plain C99; built with ASan/UBSan against the debug library and under valgrind against the
 * release library by ffi/tests/c/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define T0 1700000000000ULL

static const char UA[] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
static const char IP[] = "198.51.100.23";
static const char THIEF_UA[] = "curl/8.5.0";
static const char THIEF_IP[] = "203.0.113.7";

/* A token, as the library wrote it. */
struct tok {
    uint8_t b[RT_MAX_TOKEN_LEN];
    size_t n;
};

/* One answer of the façade. */
struct answer {
    rt_status status;
    rt_outcome o;
    struct tok t;
};

static void fill_id(uint8_t id[16], uint8_t seed)
{
    int i;
    for (i = 0; i < 16; i++)
        id[i] = (uint8_t)(seed * 17 + i * 3 + 1);
}

static void subject_of(uint8_t s[16], unsigned n)
{
    memset(s, 0, 16);
    s[14] = (uint8_t)(n >> 8);
    s[15] = (uint8_t)n;
}

/* True when all `n` bytes at `p` are still `fill` (the call wrote nothing there). */
static int untouched(const void *p, size_t n, uint8_t fill)
{
    const uint8_t *b = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != fill)
            return 0;
    return 1;
}

static int rule_is(const rt_outcome *o, const char *name)
{
    return strcmp(rt_rule_name(o->rule), name) == 0;
}

static rt_keyring *keyring_of(uint8_t id, uint8_t secret_seed)
{
    uint8_t secret[RT_KEY_LEN];
    rt_keyring *k = NULL;
    int i;
    for (i = 0; i < RT_KEY_LEN; i++)
        secret[i] = (uint8_t)(secret_seed + i);
    if (rt_keyring_new(&id, secret, 1, id, &k) != RT_STATUS_OK)
        return NULL;
    return k;
}

static rt_sessions *sessions_of(const rt_keyring *k, const rt_policy *p)
{
    rt_sessions *s = NULL;
    if (rt_sessions_new(k, p, &s) != RT_STATUS_OK)
        return NULL;
    return s;
}

static struct answer handle(const rt_sessions *s, const struct tok *cookie, uint8_t kind,
                            uint64_t now, const char *ua, const char *ip, uint8_t id_seed)
{
    struct answer a;
    uint8_t new_id[16];
    fill_id(new_id, id_seed);
    memset(&a, 0, sizeof a);
    a.status = rt_sessions_handle(s, cookie ? cookie->b : NULL, cookie ? cookie->n : 0, kind, now,
                                  (const uint8_t *)ua, strlen(ua), (const uint8_t *)ip,
                                  ip ? strlen(ip) : 0, new_id, &a.o, a.t.b, sizeof a.t.b, &a.t.n);
    if (!a.o.has_token)
        a.t.n = 0;
    return a;
}

static struct answer login(const rt_sessions *s, const struct tok *cookie, uint8_t id_seed,
                           unsigned subject, uint64_t now)
{
    struct answer a;
    uint8_t new_id[16], subj[16];
    fill_id(new_id, id_seed);
    subject_of(subj, subject);
    memset(&a, 0, sizeof a);
    a.status = rt_sessions_login(s, cookie ? cookie->b : NULL, cookie ? cookie->n : 0, new_id,
                                 subj, now, STR(UA), STR(IP), &a.o, a.t.b, sizeof a.t.b, &a.t.n);
    return a;
}

static int same_tok(const struct tok *a, const struct tok *b)
{
    return a->n == b->n && a->n > 0 && memcmp(a->b, b->b, a->n) == 0;
}

/* ---- names, version ------------------------------------------------------------------- */

static const rt_status ALL_STATUSES[] = {
    RT_STATUS_OK,
    RT_STATUS_NULL_PARAMETER,
    RT_STATUS_BUFFER_TOO_SMALL,
    RT_STATUS_INVALID_UTF8,
    RT_STATUS_INVALID_ARGUMENT,
    RT_STATUS_PANIC,
    RT_STATUS_KEY_EMPTY,
    RT_STATUS_KEY_TOO_MANY,
    RT_STATUS_KEY_DUPLICATE_ID,
    RT_STATUS_KEY_MINTING_MISSING,
    RT_STATUS_KEY_WRONG_LENGTH,
    RT_STATUS_KEY_AUDIENCE_TOO_LONG,
    RT_STATUS_POLICY_INVALID,
    RT_STATUS_TOKEN_EMPTY,
    RT_STATUS_TOKEN_TOO_LONG,
    RT_STATUS_TOKEN_WRONG_PREFIX,
    RT_STATUS_TOKEN_UNSUPPORTED_VERSION,
    RT_STATUS_TOKEN_WRONG_LENGTH,
    RT_STATUS_TOKEN_BAD_BASE64,
    RT_STATUS_TOKEN_BAD_FLAGS,
    RT_STATUS_TOKEN_UNKNOWN_KEY,
    RT_STATUS_TOKEN_BAD_TAG,
    RT_STATUS_RECORD_WRONG_LENGTH,
    RT_STATUS_RECORD_FOREIGN,
    RT_STATUS_RECORD_UNSUPPORTED_VERSION,
    RT_STATUS_RECORD_CORRUPT,
    RT_STATUS_RECORD_INVALID,
    RT_STATUS_STORE_CONFLICT,
    RT_STATUS_STORE_FULL,
    RT_STATUS_STORE_UNAVAILABLE,
    RT_STATUS_STORE_UNSUPPORTED,
    RT_STATUS_COOKIE_BUFFER_TOO_SMALL,
    RT_STATUS_COOKIE_INVALID_NAME,
    RT_STATUS_COOKIE_INVALID_VALUE,
    RT_STATUS_COOKIE_INVALID_PATH,
    RT_STATUS_COOKIE_HOST_PREFIX_NEEDS_SECURE,
    RT_STATUS_COOKIE_HOST_PREFIX_NEEDS_ROOT_PATH,
    RT_STATUS_COOKIE_SECURE_PREFIX_NEEDS_SECURE,
    RT_STATUS_COOKIE_SAME_SITE_NONE_NEEDS_SECURE,
    RT_STATUS_COOKIE_DUPLICATE,
    RT_STATUS_COOKIE_MALFORMED,
    RT_STATUS_COOKIE_TOO_LONG,
    RT_STATUS_ANONYMOUS_SUBJECT,
};
#define N_STATUSES (sizeof ALL_STATUSES / sizeof ALL_STATUSES[0])

static void test_names(void)
{
    static const struct {
        uint8_t code;
        const char *name;
    } rules[] = {
        {1, "fresh"},           {2, "current"},           {3, "concurrent_in_grace"},
        {4, "lost_response"},   {5, "cookie_jar_behind"}, {6, "store_behind"},
        {7, "cached"},          {8, "anonymous"},         {9, "new_anonymous"},
        {20, "reuse"},          {21, "grace_exhausted"},  {22, "revoked"},
        {23, "expired"},        {24, "forged"},           {25, "malformed"},
        {26, "unknown_session"}, {27, "binding_mismatch"}, {28, "no_session"},
        {29, "store_unavailable"}, {30, "busy"},
    };
    static const uint32_t unknown_statuses[] = {6, 7, 99, 106, 109, 111, 199, 209, 299, 305,
                                                399, 404, 499, 511, 599, 601, 1000, 0xffffffffu};
    char version[32];
    size_t i, j;
    unsigned code;
    unsigned known = 0;

    WHERE("version");
    snprintf(version, sizeof version, "%d.%d.%d", RT_VERSION_MAJOR, RT_VERSION_MINOR,
             RT_VERSION_PATCH);
    CHECK(rt_version() != NULL);
    CHECK(strcmp(rt_version(), version) == 0);

    WHERE("rt_status_str");
    CHECK(N_STATUSES == 43);
    CHECK(strcmp(rt_status_str(RT_STATUS_OK), "ok") == 0);
    for (i = 0; i < N_STATUSES; i++) {
        const char *m = rt_status_str(ALL_STATUSES[i]);
        CHECK(m != NULL && m[0] != '\0');
        CHECK(strcmp(m, "unknown status") != 0);
        for (j = 0; j < i; j++)
            CHECK(strcmp(m, rt_status_str(ALL_STATUSES[j])) != 0);
    }
    for (i = 0; i < sizeof unknown_statuses / sizeof unknown_statuses[0]; i++)
        CHECK(strcmp(rt_status_str(unknown_statuses[i]), "unknown status") == 0);

    WHERE("rt_rule_name");
    for (i = 0; i < sizeof rules / sizeof rules[0]; i++)
        CHECK(strcmp(rt_rule_name(rules[i].code), rules[i].name) == 0);
    for (code = 0; code < 256; code++) {
        const char *n = rt_rule_name((uint8_t)code);
        CHECK(n != NULL);
        if (strcmp(n, "unknown") != 0)
            known++;
    }
    CHECK(known == sizeof rules / sizeof rules[0]);
    CHECK(strcmp(rt_rule_name(0), "unknown") == 0);
    CHECK(strcmp(rt_rule_name(10), "unknown") == 0);
    CHECK(strcmp(rt_rule_name(31), "unknown") == 0);
    CHECK(strcmp(rt_rule_name(255), "unknown") == 0);
}

/* ---- keyring, policy, log id ----------------------------------------------------------- */

static void test_keyring(void)
{
    uint8_t ids[5] = {1, 2, 3, 4, 5};
    uint8_t secrets[5 * RT_KEY_LEN];
    uint8_t dup[2] = {7, 7};
    rt_keyring *k = (rt_keyring *)&ids; /* a sentinel: must stay as it is on errors */
    rt_keyring *const sentinel = k;
    size_t i;

    WHERE("rt_keyring_new");
    for (i = 0; i < sizeof secrets; i++)
        secrets[i] = (uint8_t)i;
    CHECK_STATUS(rt_keyring_new(ids, secrets, 1, 1, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_keyring_new(NULL, secrets, 1, 1, &k), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_keyring_new(ids, NULL, 1, 1, &k), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_keyring_new(ids, secrets, 0, 1, &k), RT_STATUS_KEY_EMPTY);
    CHECK_STATUS(rt_keyring_new(NULL, NULL, 0, 1, &k), RT_STATUS_KEY_EMPTY);
    CHECK_STATUS(rt_keyring_new(ids, secrets, 5, 1, &k), RT_STATUS_KEY_TOO_MANY);
    CHECK_STATUS(rt_keyring_new(dup, secrets, 2, 7, &k), RT_STATUS_KEY_DUPLICATE_ID);
    CHECK_STATUS(rt_keyring_new(ids, secrets, 2, 9, &k), RT_STATUS_KEY_MINTING_MISSING);
    CHECK(k == sentinel);
    /* RT_STATUS_KEY_WRONG_LENGTH cannot be produced through this ABI: every secret is
     * RT_KEY_LEN bytes by construction (secrets + 32 * i). */
    k = NULL;
    CHECK_STATUS(rt_keyring_new(ids, secrets, 4, 3, &k), RT_STATUS_OK);
    CHECK(k != NULL);
    rt_keyring_free(k);
    rt_keyring_free(NULL);
}

/* Two applications sharing secrets but not the audience refuse each other's tokens. */
static void test_keyring_audience(void)
{
    uint8_t id = 1, secret[RT_KEY_LEN], sid[16], text[RT_MAX_TOKEN_LEN];
    uint8_t aud[RT_MAX_AUDIENCE_LEN + 1];
    size_t n = 0;
    rt_keyring *billing = NULL, *blog = NULL, *plain = NULL, *none = NULL, *k = NULL;
    rt_claims c;
    int i;

    WHERE("rt_keyring_new_for_audience");
    for (i = 0; i < RT_KEY_LEN; i++)
        secret[i] = (uint8_t)(7 * i);
    memset(aud, 'a', sizeof aud);
    fill_id(sid, 3);
    CHECK_STATUS(rt_keyring_new_for_audience(&id, secret, 1, 1, (const uint8_t *)"billing", 7,
                                             &billing),
                 RT_STATUS_OK);
    CHECK_STATUS(rt_keyring_new_for_audience(&id, secret, 1, 1, (const uint8_t *)"blog", 4, &blog),
                 RT_STATUS_OK);
    CHECK_STATUS(rt_keyring_new(&id, secret, 1, 1, &plain), RT_STATUS_OK);
    CHECK_STATUS(rt_keyring_new_for_audience(&id, secret, 1, 1, NULL, 0, &none), RT_STATUS_OK);
    CHECK_STATUS(rt_keyring_new_for_audience(&id, secret, 1, 1, NULL, 3, &k),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_keyring_new_for_audience(&id, secret, 1, 1, aud, sizeof aud, &k),
                 RT_STATUS_KEY_AUDIENCE_TOO_LONG);
    CHECK(k == NULL);
    CHECK_STATUS(rt_keyring_new_for_audience(&id, secret, 1, 1, aud, RT_MAX_AUDIENCE_LEN, &k),
                 RT_STATUS_OK);

    CHECK_STATUS(rt_token_mint_compact(billing, 1, sid, 9, text, sizeof text, &n), RT_STATUS_OK);
    CHECK_STATUS(rt_token_verify(billing, text, n, 9, &c), RT_STATUS_OK);
    CHECK_STATUS(rt_token_verify(blog, text, n, 9, &c), RT_STATUS_TOKEN_BAD_TAG);
    CHECK_STATUS(rt_token_verify(plain, text, n, 9, &c), RT_STATUS_TOKEN_BAD_TAG);
    CHECK_STATUS(rt_token_verify(k, text, n, 9, &c), RT_STATUS_TOKEN_BAD_TAG);
    /* No audience is the plain keyring. */
    CHECK_STATUS(rt_token_mint_compact(none, 1, sid, 9, text, sizeof text, &n), RT_STATUS_OK);
    CHECK_STATUS(rt_token_verify(plain, text, n, 9, &c), RT_STATUS_OK);
    rt_keyring_free(billing);
    rt_keyring_free(blog);
    rt_keyring_free(plain);
    rt_keyring_free(none);
    rt_keyring_free(k);
}

static void test_policy(void)
{
    rt_policy p, bad;
    rt_keyring *k = keyring_of(1, 0);
    rt_sessions *s = (rt_sessions *)&p;
    rt_sessions *const sentinel = s;

    WHERE("rt_policy_default");
    CHECK_STATUS(rt_policy_default(NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_policy_cached(NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_policy_default(&p), RT_STATUS_OK);
    CHECK(p.mode == RT_MODE_STRICT);
    CHECK(p.form == RT_FORM_COMPACT);
    CHECK(p.anonymous);
    CHECK(p.grace_kind == RT_GRACE_FIXED && p.grace_ms == 10000);
    CHECK(p.span_cap == 8 && p.answer_cap == 16);
    CHECK(p.reissue_one_behind);
    CHECK(p.binding == RT_BINDING_EVIDENCE);
    CHECK(p.jar_behind_ms == 1800000);
    CHECK(p.session_lifetime_ms == 43200000 && p.idle_timeout_ms == 1800000);
    CHECK(p.anonymous_lifetime_ms == 86400000);
    CHECK_STATUS(rt_policy_cached(&p), RT_STATUS_OK);
    CHECK(p.mode == RT_MODE_CACHED && p.form == RT_FORM_FULL && p.fresh_ms == 900000);

    WHERE("rt_sessions_new");
    if (!CHECK(k != NULL))
        return;
    rt_policy_default(&p);
    CHECK_STATUS(rt_sessions_new(NULL, &p, &s), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_new(k, NULL, &s), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_new(k, &p, NULL), RT_STATUS_NULL_PARAMETER);
    bad = p, bad.mode = 2;
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_INVALID_ARGUMENT);
    bad = p, bad.form = 2;
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_INVALID_ARGUMENT);
    bad = p, bad.grace_kind = 2;
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_INVALID_ARGUMENT);
    bad = p, bad.binding = 3;
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_INVALID_ARGUMENT);
    bad = p, bad.span_cap = 0;
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_POLICY_INVALID);
    bad = p, bad.answer_cap = 0;
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_POLICY_INVALID);
    bad = p, bad.grace_ms = 0;
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_POLICY_INVALID);
    bad = p, bad.grace_kind = RT_GRACE_ADAPTIVE, bad.grace_min_ms = 500, bad.grace_max_ms = 100;
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_POLICY_INVALID);
    bad = p, bad.idle_timeout_ms = bad.session_lifetime_ms + 1;
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_POLICY_INVALID);
    bad = p, bad.mode = RT_MODE_CACHED; /* cached mode needs full tokens */
    CHECK_STATUS(rt_sessions_new(k, &bad, &s), RT_STATUS_POLICY_INVALID);
    CHECK(s == sentinel);

    /* The façade keeps its own reference: the keyring may be freed first. */
    s = NULL;
    CHECK_STATUS(rt_sessions_new(k, &p, &s), RT_STATUS_OK);
    rt_keyring_free(k);
    if (CHECK(s != NULL)) {
        struct answer a = handle(s, NULL, RT_KIND_ADVANCE, T0, UA, IP, 1);
        CHECK_STATUS(a.status, RT_STATUS_OK);
        CHECK(a.o.proceed && rule_is(&a.o, "new_anonymous"));
    }
    rt_sessions_free(s);
    rt_sessions_free(NULL);
}

static void test_log_id(void)
{
    uint8_t sid[16];
    char out[RT_LOG_ID_LEN + 1];
    size_t i;

    WHERE("rt_log_id");
    memset(out, 0x55, sizeof out);
    fill_id(sid, 3);
    CHECK_STATUS(rt_log_id(NULL, out), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_log_id(sid, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK(untouched(out, sizeof out, 0x55));
    CHECK_STATUS(rt_log_id(sid, out), RT_STATUS_OK);
    CHECK(strlen(out) == RT_LOG_ID_LEN);
    for (i = 0; i < RT_LOG_ID_LEN; i++)
        CHECK((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f'));
}

/* ---- tokens, binding, records ---------------------------------------------------------- */

static void test_tokens(void)
{
    rt_keyring *k1 = keyring_of(1, 0), *k2 = keyring_of(2, 100);
    rt_claims c, got;
    uint8_t sid[16], out[RT_MAX_TOKEN_LEN + 8], form = 9, bind[8], bind2[8];
    size_t n = 777;
    char long_text[300];
    char text[RT_MAX_TOKEN_LEN + 1];

    if (!CHECK(k1 != NULL && k2 != NULL))
        goto done;
    fill_id(sid, 1);
    memset(&c, 0, sizeof c);
    c.key_id = 1;
    memcpy(c.session_id, sid, 16);
    c.counter = 5;
    c.issued_at = T0;
    c.expires_at = T0 + 3600000;
    subject_of(c.subject, 42);
    c.authenticated = true;

    WHERE("rt_token_mint_full");
    memset(out, 0xAA, sizeof out);
    CHECK_STATUS(rt_token_mint_full(NULL, &c, out, sizeof out, &n), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_mint_full(k1, NULL, out, sizeof out, &n), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_mint_full(k1, &c, NULL, sizeof out, &n), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_mint_full(k1, &c, out, sizeof out, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_mint_full(k1, &c, out, RT_MAX_TOKEN_LEN - 1, &n),
                 RT_STATUS_BUFFER_TOO_SMALL);
    c.key_id = 2;
    CHECK_STATUS(rt_token_mint_full(k1, &c, out, sizeof out, &n), RT_STATUS_TOKEN_UNKNOWN_KEY);
    c.key_id = 1;
    CHECK(untouched(out, sizeof out, 0xAA) && n == 777);
    CHECK_STATUS(rt_token_mint_full(k1, &c, out, RT_MAX_TOKEN_LEN, &n), RT_STATUS_OK);
    CHECK(n == RT_MAX_TOKEN_LEN && memcmp(out, "rtf1_", 5) == 0);
    CHECK(out[RT_MAX_TOKEN_LEN] == 0xAA); /* nothing past the token */
    memcpy(text, out, n);
    text[n] = '\0';

    WHERE("rt_token_parse");
    CHECK_STATUS(rt_token_parse(NULL, 5, &form, &got), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_parse(out, n, NULL, &got), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_parse(out, n, &form, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK(form == 9);
    CHECK_STATUS(rt_token_parse(NULL, 0, &form, &got), RT_STATUS_TOKEN_EMPTY);
    memset(long_text, 'A', sizeof long_text);
    memcpy(long_text, "rtf1_", 5);
    CHECK_STATUS(rt_token_parse((const uint8_t *)long_text, sizeof long_text, &form, &got),
                 RT_STATUS_TOKEN_TOO_LONG);
    CHECK_STATUS(rt_token_parse(STR("Bearer x"), &form, &got), RT_STATUS_TOKEN_WRONG_PREFIX);
    CHECK_STATUS(rt_token_parse(STR("rtf2_AAAA"), &form, &got),
                 RT_STATUS_TOKEN_UNSUPPORTED_VERSION);
    CHECK_STATUS(rt_token_parse(STR("rtc1_AAAA"), &form, &got), RT_STATUS_TOKEN_WRONG_LENGTH);
    CHECK_STATUS(rt_token_parse(STR("rtc1_AdIiFjkuKkVBSAz**Avw_0xT5TAHTnkv2HivawSG9hTR"), &form,
                                &got),
                 RT_STATUS_TOKEN_BAD_BASE64);
    CHECK(form == 9);
    /* RT_STATUS_TOKEN_BAD_FLAGS needs a re-encoded body: the golden vectors cover it. */
    CHECK_STATUS(rt_token_parse(out, n, &form, &got), RT_STATUS_OK);
    CHECK(form == RT_FORM_FULL && got.counter == 5 && got.authenticated && got.key_id == 1);
    CHECK(memcmp(got.session_id, sid, 16) == 0 && got.expires_at == T0 + 3600000);

    WHERE("rt_token_verify");
    CHECK_STATUS(rt_token_verify(NULL, out, n, 0, &got), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_verify(k1, NULL, n, 0, &got), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_verify(k1, out, n, 0, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_verify(k2, out, n, 0, &got), RT_STATUS_TOKEN_UNKNOWN_KEY);
    CHECK_STATUS(rt_token_verify(k1, STR(""), 0, &got), RT_STATUS_TOKEN_EMPTY);
    memset(&got, 0, sizeof got);
    CHECK_STATUS(rt_token_verify(k1, out, n, 999, &got), RT_STATUS_OK); /* counter ignored */
    CHECK(got.counter == 5 && memcmp(got.subject, c.subject, 16) == 0);
    /* Flip one character inside the tag (not the last, whose unused bits must stay zero). */
    out[n - 6] = (uint8_t)(out[n - 6] == 'A' ? 'B' : 'A');
    CHECK_STATUS(rt_token_verify(k1, out, n, 0, &got), RT_STATUS_TOKEN_BAD_TAG);

    WHERE("rt_token_mint_compact");
    memset(out, 0xAA, sizeof out);
    n = 777;
    CHECK_STATUS(rt_token_mint_compact(NULL, 1, sid, 3, out, sizeof out, &n),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_mint_compact(k1, 1, NULL, 3, out, sizeof out, &n),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_mint_compact(k1, 1, sid, 3, NULL, sizeof out, &n),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_token_mint_compact(k1, 1, sid, 3, out, sizeof out, NULL),
                 RT_STATUS_NULL_PARAMETER);
    /* A compact token is 49 characters, but every token buffer is RT_MAX_TOKEN_LEN bytes. */
    CHECK_STATUS(rt_token_mint_compact(k1, 1, sid, 3, out, 60, &n), RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(rt_token_mint_compact(k1, 2, sid, 3, out, sizeof out, &n),
                 RT_STATUS_TOKEN_UNKNOWN_KEY);
    CHECK(untouched(out, sizeof out, 0xAA) && n == 777);
    CHECK_STATUS(rt_token_mint_compact(k1, 1, sid, 3, out, sizeof out, &n), RT_STATUS_OK);
    CHECK(n == 49 && memcmp(out, "rtc1_", 5) == 0);
    CHECK_STATUS(rt_token_parse(out, n, &form, &got), RT_STATUS_OK);
    CHECK(form == RT_FORM_COMPACT && got.key_id == 1 && memcmp(got.session_id, sid, 16) == 0);
    CHECK_STATUS(rt_token_verify(k1, out, n, 3, &got), RT_STATUS_OK);
    CHECK(got.counter == 3);
    CHECK_STATUS(rt_token_verify(k1, out, n, 4, &got), RT_STATUS_TOKEN_BAD_TAG);
    CHECK_STATUS(rt_token_verify(k1, out, n, 2, &got), RT_STATUS_TOKEN_BAD_TAG);
    CHECK_STATUS(rt_token_verify(k2, out, n, 3, &got), RT_STATUS_TOKEN_UNKNOWN_KEY);

    WHERE("rt_keyring_binding");
    memset(bind, 0xAA, sizeof bind);
    CHECK_STATUS(rt_keyring_binding(NULL, 1, STR(UA), STR(IP), bind), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), STR(IP), NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_keyring_binding(k1, 1, NULL, 4, STR(IP), bind), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), NULL, 4, bind), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_keyring_binding(k1, 2, STR(UA), STR(IP), bind), RT_STATUS_TOKEN_UNKNOWN_KEY);
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), STR("not-an-address"), bind),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), STR("198.51.100.256"), bind),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), STR("198.51.\xff.1"), bind),
                 RT_STATUS_INVALID_UTF8);
    CHECK(untouched(bind, sizeof bind, 0xAA));
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), STR(IP), bind), RT_STATUS_OK);
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), STR("198.51.100.99"), bind2), RT_STATUS_OK);
    CHECK(memcmp(bind, bind2, 8) == 0); /* same /24 */
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), STR("198.51.101.23"), bind2), RT_STATUS_OK);
    CHECK(memcmp(bind, bind2, 4) == 0 && memcmp(bind + 4, bind2 + 4, 4) != 0);
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), NULL, 0, bind2), RT_STATUS_OK);
    CHECK(memcmp(bind, bind2, 4) == 0 && memcmp(bind + 4, bind2 + 4, 4) != 0);
    CHECK_STATUS(rt_keyring_binding(k1, 1, STR(UA), STR("::ffff:198.51.100.23"), bind2),
                 RT_STATUS_OK);
    CHECK(memcmp(bind, bind2, 8) == 0); /* IPv4-mapped hashes as IPv4 */
    CHECK_STATUS(rt_keyring_binding(k1, 1, NULL, 0, NULL, 0, bind2), RT_STATUS_OK);
done:
    rt_keyring_free(k1);
    rt_keyring_free(k2);
}

static void sample_record(rt_record *r)
{
    memset(r, 0, sizeof *r);
    fill_id(r->session_id, 4);
    subject_of(r->subject, 1001);
    r->authenticated = true;
    r->form = RT_FORM_COMPACT;
    r->counter = 5;
    r->floor = 4;
    r->version = 9;
    r->created_at = T0;
    r->expires_at = T0 + 43200000;
    r->last_advance_at = T0 + 600000;
    r->grace_until = T0 + 610000;
    r->last_seen_at = T0 + 600000;
    r->binding_key_id = 1;
}

static void test_records(void)
{
    rt_record r, got, bad;
    uint8_t bytes[RT_RECORD_LEN + 4], copy[RT_RECORD_LEN];
    size_t n = 777;

    sample_record(&r);
    WHERE("rt_record_encode");
    memset(bytes, 0xAA, sizeof bytes);
    CHECK_STATUS(rt_record_encode(NULL, bytes, sizeof bytes, &n), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_record_encode(&r, NULL, sizeof bytes, &n), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_record_encode(&r, bytes, sizeof bytes, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_record_encode(&r, bytes, RT_RECORD_LEN - 1, &n), RT_STATUS_BUFFER_TOO_SMALL);
    bad = r, bad.state = 5;
    CHECK_STATUS(rt_record_encode(&bad, bytes, sizeof bytes, &n), RT_STATUS_INVALID_ARGUMENT);
    bad = r, bad.form = 2;
    CHECK_STATUS(rt_record_encode(&bad, bytes, sizeof bytes, &n), RT_STATUS_INVALID_ARGUMENT);
    CHECK(untouched(bytes, sizeof bytes, 0xAA) && n == 777);
    CHECK_STATUS(rt_record_encode(&r, bytes, RT_RECORD_LEN, &n), RT_STATUS_OK);
    CHECK(n == RT_RECORD_LEN && bytes[0] == 'R' && bytes[1] == 'T');

    WHERE("rt_record_decode");
    memset(&got, 0xAA, sizeof got);
    CHECK_STATUS(rt_record_decode(bytes, RT_RECORD_LEN, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_record_decode(NULL, RT_RECORD_LEN, &got), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_record_decode(NULL, 0, &got), RT_STATUS_RECORD_WRONG_LENGTH);
    CHECK_STATUS(rt_record_decode(bytes, RT_RECORD_LEN - 1, &got), RT_STATUS_RECORD_WRONG_LENGTH);
    CHECK_STATUS(rt_record_decode(bytes, RT_RECORD_LEN + 1, &got), RT_STATUS_RECORD_WRONG_LENGTH);
    memcpy(copy, bytes, RT_RECORD_LEN);
    copy[0] = 'X';
    CHECK_STATUS(rt_record_decode(copy, RT_RECORD_LEN, &got), RT_STATUS_RECORD_FOREIGN);
    memcpy(copy, bytes, RT_RECORD_LEN);
    copy[40] ^= 1; /* inside the subject: the checksum no longer matches */
    CHECK_STATUS(rt_record_decode(copy, RT_RECORD_LEN, &got), RT_STATUS_RECORD_CORRUPT);
    CHECK(untouched(&got, sizeof got, 0xAA));
    CHECK_STATUS(rt_record_decode(bytes, RT_RECORD_LEN, &got), RT_STATUS_OK);
    CHECK(memcmp(got.session_id, r.session_id, 16) == 0 && got.counter == 5 && got.floor == 4);
    CHECK(got.version == 9 && got.state == 0 && got.form == RT_FORM_COMPACT && !got.has_parent);
    CHECK(got.grace_until == r.grace_until && got.expires_at == r.expires_at);
    /* The unsupported-version and invalid-field errors are in the golden vectors. */
}

/* ---- the pure engine ------------------------------------------------------------------- */

/* rt_decide at a fixed time with the Firefox user agent (keeps the error list readable). */
static rt_status decide_(const rt_keyring *kr, const rt_policy *pol, const uint8_t *recp,
                         size_t recn, const uint8_t *tokp, size_t tokn, uint8_t kind,
                         const uint8_t *ip, size_t ipn, rt_outcome *outp, uint8_t *to,
                         size_t tocap, size_t *tonp, bool *savep, uint8_t *ro, size_t rocap,
                         size_t *ronp)
{
    return rt_decide(kr, pol, recp, recn, tokp, tokn, kind, T0 + 620000, STR(UA), ip, ipn, outp,
                     to, tocap, tonp, savep, ro, rocap, ronp);
}

static void test_decide(void)
{
    rt_keyring *k = keyring_of(1, 0);
    rt_policy p, bad;
    rt_record r;
    rt_outcome o;
    uint8_t rec[RT_RECORD_LEN], rec_out[RT_RECORD_LEN], tok[RT_MAX_TOKEN_LEN],
        tok_out[RT_MAX_TOKEN_LEN];
    size_t rn, tn, ton = 777, ron = 777;
    bool save = false;

    if (!CHECK(k != NULL))
        return;
    rt_policy_default(&p);
    sample_record(&r);
    CHECK_STATUS(rt_keyring_binding(k, 1, STR(UA), STR(IP), r.binding), RT_STATUS_OK);
    CHECK_STATUS(rt_record_encode(&r, rec, sizeof rec, &rn), RT_STATUS_OK);
    CHECK_STATUS(rt_token_mint_compact(k, 1, r.session_id, 5, tok, sizeof tok, &tn), RT_STATUS_OK);

    WHERE("rt_decide errors");
    memset(&o, 0xAA, sizeof o);
    memset(tok_out, 0xAA, sizeof tok_out);
    memset(rec_out, 0xAA, sizeof rec_out);
    CHECK_STATUS(decide_(NULL, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, NULL, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, NULL, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, rec, rn, NULL, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, NULL, 5, &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), NULL, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, NULL,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, NULL, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, NULL, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, NULL, sizeof rec_out, &ron),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, NULL),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        RT_MAX_TOKEN_LEN - 1, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, RT_RECORD_LEN - 1, &ron),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, 2, STR(IP), &o, tok_out, sizeof tok_out, &ton,
                        &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_INVALID_ARGUMENT);
    bad = p, bad.binding = 7;
    CHECK_STATUS(decide_(k, &bad, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_INVALID_ARGUMENT);
    bad = p, bad.span_cap = 0;
    CHECK_STATUS(decide_(k, &bad, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_POLICY_INVALID);
    CHECK_STATUS(decide_(k, &p, rec, rn - 1, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_RECORD_WRONG_LENGTH);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, 0, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_TOKEN_EMPTY);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn - 1, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_TOKEN_WRONG_LENGTH);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR("10.0.0"), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR("\xc3("), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_INVALID_UTF8);
    CHECK(untouched(&o, sizeof o, 0xAA) && untouched(tok_out, sizeof tok_out, 0xAA));
    CHECK(untouched(rec_out, sizeof rec_out, 0xAA) && ton == 777 && ron == 777 && !save);

    WHERE("rt_decide fresh");
    CHECK_STATUS(decide_(k, &p, rec, rn, tok, tn, RT_KIND_ADVANCE, STR(IP), &o, tok_out,
                        sizeof tok_out, &ton, &save, rec_out, sizeof rec_out, &ron),
                 RT_STATUS_OK);
    CHECK(o.proceed && rule_is(&o, "fresh") && o.has_token && save && !o.clear_cookie);
    CHECK(o.binding_user_agent && o.binding_ip && o.counter == 6 && ron == RT_RECORD_LEN);
    CHECK_STATUS(rt_record_decode(rec_out, ron, &r), RT_STATUS_OK);
    CHECK(r.counter == 6 && r.version == 10);
    CHECK_STATUS(rt_token_verify(k, tok_out, ton, 6, NULL), RT_STATUS_NULL_PARAMETER);
    {
        rt_claims c;
        CHECK_STATUS(rt_token_verify(k, tok_out, ton, 6, &c), RT_STATUS_OK);
    }
    rt_keyring_free(k);
}

/* ---- cookies ---------------------------------------------------------------------------- */

static void test_cookies(void)
{
    rt_cookie_config def, loc, bad;
    bool found = true;
    const uint8_t *value = (const uint8_t *)"sentinel";
    size_t vlen = 777, n = 777;
    uint8_t out[RT_MAX_SET_COOKIE_LEN + 8];
    static char big[8200];
    const char *hdr;
    char long_name[65], long_path[65];
    uint8_t long_value[129];
    const char tok[] = "rtc1_AVNFOhnLx_YDUeE3CSN7YCVUyUoWn4mo-AmIajPfrXLv";
    char want[512];

    WHERE("rt_cookie_config");
    CHECK_STATUS(rt_cookie_config_default(NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_cookie_config_insecure_local(NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_cookie_config_default(&def), RT_STATUS_OK);
    CHECK(strcmp(def.name, "__Host-rolltoken") == 0 && strcmp(def.path, "/") == 0);
    CHECK(def.secure && def.http_only && def.same_site == RT_SAME_SITE_LAX &&
          !def.session_only);
    CHECK_STATUS(rt_cookie_config_insecure_local(&loc), RT_STATUS_OK);
    CHECK(strcmp(loc.name, "rolltoken") == 0 && !loc.secure && loc.http_only &&
          !loc.session_only);

    WHERE("rt_cookie_find");
    hdr = "theme=dark; __Host-rolltoken=abc123; lang=en";
    CHECK_STATUS(rt_cookie_find(NULL, STR(hdr), &found, &value, &vlen), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_cookie_find(&def, NULL, 5, &found, &value, &vlen), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_cookie_find(&def, STR(hdr), NULL, &value, &vlen), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_cookie_find(&def, STR(hdr), &found, NULL, &vlen), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_cookie_find(&def, STR(hdr), &found, &value, NULL), RT_STATUS_NULL_PARAMETER);
    bad = def, bad.name = NULL;
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen), RT_STATUS_NULL_PARAMETER);
    bad = def, bad.path = NULL;
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen), RT_STATUS_NULL_PARAMETER);
    bad = loc, bad.name = "roll\xfftoken";
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen), RT_STATUS_INVALID_UTF8);
    bad = loc, bad.path = "/\xff";
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen), RT_STATUS_INVALID_UTF8);
    bad = loc, bad.same_site = 3;
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen),
                 RT_STATUS_INVALID_ARGUMENT);
    bad = loc, bad.name = "roll token";
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen),
                 RT_STATUS_COOKIE_INVALID_NAME);
    bad = loc, bad.name = "";
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen),
                 RT_STATUS_COOKIE_INVALID_NAME);
    bad = loc, bad.path = "no-slash";
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen),
                 RT_STATUS_COOKIE_INVALID_PATH);
    bad = def, bad.secure = false;
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen),
                 RT_STATUS_COOKIE_HOST_PREFIX_NEEDS_SECURE);
    bad = def, bad.path = "/app";
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen),
                 RT_STATUS_COOKIE_HOST_PREFIX_NEEDS_ROOT_PATH);
    bad = loc, bad.name = "__Secure-rolltoken";
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen),
                 RT_STATUS_COOKIE_SECURE_PREFIX_NEEDS_SECURE);
    bad = loc, bad.same_site = RT_SAME_SITE_NONE;
    CHECK_STATUS(rt_cookie_find(&bad, STR(hdr), &found, &value, &vlen),
                 RT_STATUS_COOKIE_SAME_SITE_NONE_NEEDS_SECURE);
    CHECK_STATUS(rt_cookie_find(&def, STR("a=1; __Host-rolltoken=x; __Host-rolltoken=y"), &found,
                                &value, &vlen),
                 RT_STATUS_COOKIE_DUPLICATE);
    CHECK_STATUS(rt_cookie_find(&def, STR("__Host-rolltoken=x; __Host-rolltoken="), &found,
                                &value, &vlen),
                 RT_STATUS_COOKIE_DUPLICATE);
    CHECK_STATUS(rt_cookie_find(&def, STR("a=1\r\nX-Evil: 1; __Host-rolltoken=x"), &found,
                                &value, &vlen),
                 RT_STATUS_COOKIE_MALFORMED);
    CHECK_STATUS(rt_cookie_find(&def, STR("__Host-rolltoken=a b"), &found, &value, &vlen),
                 RT_STATUS_COOKIE_INVALID_VALUE);
    CHECK_STATUS(rt_cookie_find(&def, STR("__Host-rolltoken=\xc3\xa9"), &found, &value, &vlen),
                 RT_STATUS_COOKIE_INVALID_VALUE);
    memset(big, 'a', sizeof big);
    memcpy(big, "x=", 2);
    CHECK_STATUS(rt_cookie_find(&def, (const uint8_t *)big, 8193, &found, &value, &vlen),
                 RT_STATUS_COOKIE_TOO_LONG);
    CHECK(found && vlen == 777 && strcmp((const char *)value, "sentinel") == 0);
    CHECK_STATUS(rt_cookie_find(&def, (const uint8_t *)big, 8192, &found, &value, &vlen),
                 RT_STATUS_OK);
    CHECK(!found);
    CHECK_STATUS(rt_cookie_find(&def, STR(hdr), &found, &value, &vlen), RT_STATUS_OK);
    CHECK(found && vlen == 6 && memcmp(value, "abc123", 6) == 0);
    CHECK(value >= (const uint8_t *)hdr && value + vlen <= (const uint8_t *)hdr + strlen(hdr));
    /* The same value twice is fine; quotes are removed; a different name is not ours. */
    CHECK_STATUS(rt_cookie_find(&def, STR("__Host-rolltoken=v1; b=2; __Host-rolltoken=\"v1\""),
                                &found, &value, &vlen),
                 RT_STATUS_OK);
    CHECK(found && vlen == 2 && memcmp(value, "v1", 2) == 0);
    CHECK_STATUS(rt_cookie_find(&def, STR("rolltoken=zz"), &found, &value, &vlen), RT_STATUS_OK);
    CHECK(!found && vlen == 0);
    CHECK_STATUS(rt_cookie_find(&loc, STR("rolltoken=zz"), &found, &value, &vlen), RT_STATUS_OK);
    CHECK(found && vlen == 2);
    CHECK_STATUS(rt_cookie_find(&def, NULL, 0, &found, &value, &vlen), RT_STATUS_OK);
    CHECK(!found);

    WHERE("rt_set_cookie_write");
    memset(out, 0xAA, sizeof out);
    n = 777;
    CHECK_STATUS(rt_set_cookie_write(NULL, STR(tok), 3600, out, sizeof out, &n),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_set_cookie_write(&def, NULL, 5, 3600, out, sizeof out, &n),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_set_cookie_write(&def, STR(tok), 3600, NULL, sizeof out, &n),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_set_cookie_write(&def, STR(tok), 3600, out, sizeof out, NULL),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_set_cookie_write(&def, STR(tok), 3600, out, 20, &n),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(rt_set_cookie_write(&def, NULL, 0, 3600, out, sizeof out, &n),
                 RT_STATUS_COOKIE_INVALID_VALUE);
    CHECK_STATUS(rt_set_cookie_write(&def, STR("a;b"), 3600, out, sizeof out, &n),
                 RT_STATUS_COOKIE_INVALID_VALUE);
    CHECK_STATUS(rt_set_cookie_write(&def, STR("a\xff"), 3600, out, sizeof out, &n),
                 RT_STATUS_COOKIE_INVALID_VALUE);
    memset(long_value, 'v', sizeof long_value);
    CHECK_STATUS(rt_set_cookie_write(&def, long_value, sizeof long_value, 3600, out, sizeof out,
                                     &n),
                 RT_STATUS_COOKIE_INVALID_VALUE);
    bad = def, bad.secure = false;
    CHECK_STATUS(rt_set_cookie_write(&bad, STR(tok), 3600, out, sizeof out, &n),
                 RT_STATUS_COOKIE_HOST_PREFIX_NEEDS_SECURE);
    CHECK(untouched(out, sizeof out, 0xAA) && n == 777);
    CHECK_STATUS(rt_set_cookie_write(&def, STR(tok), 3600, out, sizeof out, &n), RT_STATUS_OK);
    snprintf(want, sizeof want, "__Host-rolltoken=%s; Max-Age=3600; Path=/; Secure; HttpOnly; "
                                "SameSite=Lax", tok);
    CHECK_BYTES(out, n, want, strlen(want));
    CHECK_STATUS(rt_set_cookie_write(&loc, STR(tok), 60, out, sizeof out, &n), RT_STATUS_OK);
    snprintf(want, sizeof want, "rolltoken=%s; Max-Age=60; Path=/; HttpOnly; SameSite=Lax", tok);
    CHECK_BYTES(out, n, want, strlen(want));
    /* The longest value the writers produce fits RT_MAX_SET_COOKIE_LEN exactly. */
    memset(long_name, 'n', 64);
    long_name[64] = '\0';
    memset(long_path, 'p', 64);
    long_path[0] = '/';
    long_path[64] = '\0';
    bad = def, bad.name = long_name, bad.path = long_path, bad.same_site = RT_SAME_SITE_STRICT;
    CHECK_STATUS(rt_set_cookie_write(&bad, long_value, 128, UINT64_MAX, out,
                                     RT_MAX_SET_COOKIE_LEN, &n),
                 RT_STATUS_OK);
    CHECK(n == RT_MAX_SET_COOKIE_LEN);
    CHECK(out[RT_MAX_SET_COOKIE_LEN] == 0xAA);
    /* What the browser sends back is found again. */
    {
        char back[200];
        snprintf(back, sizeof back, "a=b; __Host-rolltoken=%s", tok);
        CHECK_STATUS(rt_cookie_find(&def, STR(back), &found, &value, &vlen), RT_STATUS_OK);
        CHECK(found);
        CHECK_BYTES(value, vlen, tok, strlen(tok));
    }

    WHERE("rt_clear_cookie_write");
    memset(out, 0xAA, sizeof out);
    n = 777;
    CHECK_STATUS(rt_clear_cookie_write(NULL, out, sizeof out, &n), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_clear_cookie_write(&def, NULL, sizeof out, &n), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_clear_cookie_write(&def, out, sizeof out, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_clear_cookie_write(&def, out, 10, &n), RT_STATUS_BUFFER_TOO_SMALL);
    bad = def, bad.path = "/x";
    CHECK_STATUS(rt_clear_cookie_write(&bad, out, sizeof out, &n),
                 RT_STATUS_COOKIE_HOST_PREFIX_NEEDS_ROOT_PATH);
    CHECK(untouched(out, sizeof out, 0xAA) && n == 777);
    CHECK_STATUS(rt_clear_cookie_write(&def, out, sizeof out, &n), RT_STATUS_OK);
    strcpy(want, "__Host-rolltoken=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax");
    CHECK_BYTES(out, n, want, strlen(want));
    CHECK_STATUS(rt_clear_cookie_write(&loc, out, sizeof out, &n), RT_STATUS_OK);
    strcpy(want, "rolltoken=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");
    CHECK_BYTES(out, n, want, strlen(want));

    WHERE("session_only");
    /* No Max-Age on the set line, whatever max_age_secs says; clearing keeps Max-Age=0. */
    bad = def, bad.session_only = true;
    CHECK_STATUS(rt_set_cookie_write(&bad, STR(tok), 3600, out, sizeof out, &n), RT_STATUS_OK);
    snprintf(want, sizeof want, "__Host-rolltoken=%s; Path=/; Secure; HttpOnly; SameSite=Lax",
             tok);
    CHECK_BYTES(out, n, want, strlen(want));
    CHECK_STATUS(rt_set_cookie_write(&bad, STR(tok), UINT64_MAX, out, sizeof out, &n),
                 RT_STATUS_OK);
    CHECK_BYTES(out, n, want, strlen(want));
    CHECK_STATUS(rt_clear_cookie_write(&bad, out, sizeof out, &n), RT_STATUS_OK);
    strcpy(want, "__Host-rolltoken=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax");
    CHECK_BYTES(out, n, want, strlen(want));
    bad = loc, bad.session_only = true, bad.same_site = RT_SAME_SITE_STRICT;
    CHECK_STATUS(rt_set_cookie_write(&bad, STR(tok), 60, out, sizeof out, &n), RT_STATUS_OK);
    snprintf(want, sizeof want, "rolltoken=%s; Path=/; HttpOnly; SameSite=Strict", tok);
    CHECK_BYTES(out, n, want, strlen(want));
    CHECK_STATUS(rt_clear_cookie_write(&bad, out, sizeof out, &n), RT_STATUS_OK);
    strcpy(want, "rolltoken=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict");
    CHECK_BYTES(out, n, want, strlen(want));
    /* The config is still checked: the flag does not loosen the __Host- rules. */
    bad = def, bad.session_only = true, bad.secure = false;
    memset(out, 0xAA, sizeof out);
    n = 777;
    CHECK_STATUS(rt_set_cookie_write(&bad, STR(tok), 3600, out, sizeof out, &n),
                 RT_STATUS_COOKIE_HOST_PREFIX_NEEDS_SECURE);
    CHECK(untouched(out, sizeof out, 0xAA) && n == 777);
}

/* ---- the façade: argument errors -------------------------------------------------------- */

/* rt_sessions_finish at T0 with the Firefox user agent and no primary read. */
static rt_status finish_(const rt_sessions *sess, const uint8_t *ck, size_t ckn, uint8_t kind,
                         const uint8_t *ip, size_t ipn, const uint8_t *recp, size_t recn,
                         rt_outcome *outp, uint8_t *tk, size_t tkcap, size_t *tkn, uint8_t *nx,
                         uint8_t *ro, size_t rocap, size_t *ron, uint64_t *v)
{
    return rt_sessions_finish(sess, ck, ckn, kind, T0, STR(UA), ip, ipn, recp, recn, false, outp,
                              tk, tkcap, tkn, nx, ro, rocap, ron, v);
}

/* rt_sessions_plan_login at T0 without a current cookie. */
static rt_status plan_(const rt_sessions *sess, const uint8_t *nid, const uint8_t *sj,
                       rt_outcome *outp, uint8_t *tk, size_t tkcap, size_t *tkn, uint8_t *ro,
                       size_t rocap, size_t *ron, bool *hr, uint8_t *rt)
{
    return rt_sessions_plan_login(sess, NULL, 0, nid, sj, T0, STR(UA), STR(IP), outp, tk, tkcap,
                                  tkn, ro, rocap, ron, hr, rt);
}

static void test_sessions_errors(void)
{
    rt_keyring *k = keyring_of(1, 0);
    rt_policy p;
    rt_sessions *s;
    rt_outcome o;
    uint8_t tok[RT_MAX_TOKEN_LEN], rec[RT_RECORD_LEN], sid[16], id[16], subj[16], zero[16];
    size_t tn = 777, rn = 777, count = 777;
    bool flag = false, flag2 = false;
    uint8_t next = 99;
    uint64_t ver = 777;
    char log_id[RT_LOG_ID_LEN + 1];
    const char *c = "rtc1_AVNFOhnLx_YDUeE3CSN7YCVUyUoWn4mo-AmIajPfrXLv";

    if (!CHECK(k != NULL))
        return;
    rt_policy_default(&p);
    s = sessions_of(k, &p);
    if (!CHECK(s != NULL)) {
        rt_keyring_free(k);
        return;
    }
    fill_id(id, 9);
    subject_of(subj, 7);
    memset(zero, 0, sizeof zero);
    memset(&o, 0xAA, sizeof o);
    memset(tok, 0xAA, sizeof tok);
    memset(rec, 0xAA, sizeof rec);
    memset(sid, 0xAA, sizeof sid);

    WHERE("rt_sessions_handle errors");
    CHECK_STATUS(rt_sessions_handle(NULL, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok,
                                    sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_handle(s, NULL, 5, RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok,
                                    sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_handle(s, STR(c), RT_KIND_READ, T0, NULL, 3, STR(IP), id, &o, tok,
                                    sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_handle(s, STR(c), RT_KIND_READ, T0, STR(UA), NULL, 3, id, &o, tok,
                                    sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_handle(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, NULL, tok,
                                    sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_handle(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, NULL,
                                    sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_handle(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok,
                                    sizeof tok, NULL),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_handle(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok,
                                    RT_MAX_TOKEN_LEN - 1, &tn),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(rt_sessions_handle(s, STR(c), 2, T0, STR(UA), STR(IP), id, &o, tok, sizeof tok,
                                    &tn),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rt_sessions_handle(s, STR(c), RT_KIND_READ, T0, STR(UA), STR("1.2.3.4.5"), id,
                                    &o, tok, sizeof tok, &tn),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rt_sessions_handle(s, STR(c), RT_KIND_READ, T0, STR(UA), STR("::\xfe"), id, &o,
                                    tok, sizeof tok, &tn),
                 RT_STATUS_INVALID_UTF8);
    /* A short buffer fails before any state changes: no anonymous session is minted. */
    CHECK_STATUS(rt_sessions_handle(s, NULL, 0, RT_KIND_ADVANCE, T0, STR(UA), STR(IP), id, &o, tok,
                                    10, &tn),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK(untouched(&o, sizeof o, 0xAA) && untouched(tok, sizeof tok, 0xAA) && tn == 777);

    WHERE("rt_sessions_begin errors");
    CHECK_STATUS(rt_sessions_begin(NULL, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok,
                                   sizeof tok, &tn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_begin(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, NULL, tok,
                                   sizeof tok, &tn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_begin(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, NULL,
                                   sizeof tok, &tn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_begin(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok,
                                   sizeof tok, NULL, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_begin(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok,
                                   sizeof tok, &tn, NULL, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_begin(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok,
                                   sizeof tok, &tn, &flag, NULL),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_begin(s, NULL, 3, RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok,
                                   sizeof tok, &tn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_begin(s, STR(c), RT_KIND_READ, T0, STR(UA), STR(IP), id, &o, tok, 48,
                                   &tn, &flag, sid),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(rt_sessions_begin(s, STR(c), 7, T0, STR(UA), STR(IP), id, &o, tok, sizeof tok,
                                   &tn, &flag, sid),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rt_sessions_begin(s, STR(c), RT_KIND_READ, T0, STR(UA), STR("example.org"), id,
                                   &o, tok, sizeof tok, &tn, &flag, sid),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rt_sessions_begin(s, STR(c), RT_KIND_READ, T0, STR(UA), STR("\x80"), id, &o, tok,
                                   sizeof tok, &tn, &flag, sid),
                 RT_STATUS_INVALID_UTF8);
    CHECK(untouched(&o, sizeof o, 0xAA) && untouched(sid, sizeof sid, 0xAA) && !flag);

    WHERE("rt_sessions_finish errors");
    CHECK_STATUS(finish_(NULL, STR(c), RT_KIND_READ, STR(IP), NULL, 0, &o, tok, sizeof tok, &tn,
                        &next, rec, sizeof rec, &rn, &ver),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 5, &o, tok, sizeof tok, &tn, &next,
                        rec, sizeof rec, &rn, &ver),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 0, NULL, tok, sizeof tok, &tn,
                        &next, rec, sizeof rec, &rn, &ver),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 0, &o, NULL, sizeof tok, &tn,
                        &next, rec, sizeof rec, &rn, &ver),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 0, &o, tok, sizeof tok, NULL,
                        &next, rec, sizeof rec, &rn, &ver),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 0, &o, tok, sizeof tok, &tn, NULL,
                        rec, sizeof rec, &rn, &ver),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 0, &o, tok, sizeof tok, &tn,
                        &next, NULL, sizeof rec, &rn, &ver),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 0, &o, tok, sizeof tok, &tn,
                        &next, rec, sizeof rec, NULL, &ver),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 0, &o, tok, sizeof tok, &tn,
                        &next, rec, sizeof rec, &rn, NULL),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 0, &o, tok, sizeof tok - 1, &tn,
                        &next, rec, sizeof rec, &rn, &ver),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR(IP), NULL, 0, &o, tok, sizeof tok, &tn,
                        &next, rec, sizeof rec - 1, &rn, &ver),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(finish_(s, STR(c), 3, STR(IP), NULL, 0, &o, tok, sizeof tok, &tn, &next, rec,
                        sizeof rec, &rn, &ver),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR("300.1.1.1"), NULL, 0, &o, tok, sizeof tok,
                        &tn, &next, rec, sizeof rec, &rn, &ver),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(finish_(s, STR(c), RT_KIND_READ, STR("1.1.1.\xc0"), NULL, 0, &o, tok, sizeof tok,
                        &tn, &next, rec, sizeof rec, &rn, &ver),
                 RT_STATUS_INVALID_UTF8);
    CHECK(untouched(&o, sizeof o, 0xAA) && untouched(rec, sizeof rec, 0xAA));
    CHECK(next == 99 && ver == 777 && rn == 777);

    WHERE("rt_sessions_store_failed errors");
    CHECK_STATUS(rt_sessions_store_failed(NULL, STR(c), T0, true, &o), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_store_failed(s, STR(c), T0, true, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_store_failed(s, NULL, 4, T0, true, &o), RT_STATUS_NULL_PARAMETER);
    CHECK(untouched(&o, sizeof o, 0xAA));

    WHERE("rt_sessions_login errors");
    CHECK_STATUS(rt_sessions_login(NULL, NULL, 0, id, subj, T0, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, NULL, subj, T0, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, NULL, T0, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0, STR(UA), STR(IP), NULL, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0, STR(UA), STR(IP), &o, NULL,
                                   sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, NULL),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_login(s, NULL, 3, id, subj, T0, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0, STR(UA), STR(IP), &o, tok, 49, &tn),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, zero, T0, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_ANONYMOUS_SUBJECT);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0, STR(UA), STR("1.2.3"), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0, STR(UA), STR("\xff"), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_INVALID_UTF8);
    CHECK(untouched(&o, sizeof o, 0xAA) && untouched(tok, sizeof tok, 0xAA) && tn == 777);
    /* Nothing was stored by the failed calls. */
    CHECK_STATUS(rt_sessions_load_record(s, id, rec, sizeof rec, &rn, &flag), RT_STATUS_OK);
    CHECK(!flag);
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_OK);
    /* The same new session id again: the store refuses to overwrite it. */
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0 + 1, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_STORE_CONFLICT);

    WHERE("rt_sessions_plan_login errors");
    memset(&o, 0xAA, sizeof o);
    memset(tok, 0xAA, sizeof tok);
    memset(rec, 0xAA, sizeof rec);
    memset(sid, 0xAA, sizeof sid);
    flag = false;
    tn = rn = 777;
    CHECK_STATUS(plan_(NULL, id, subj, &o, tok, sizeof tok, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, NULL, subj, &o, tok, sizeof tok, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, id, NULL, &o, tok, sizeof tok, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, id, subj, NULL, tok, sizeof tok, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, id, subj, &o, NULL, sizeof tok, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, id, subj, &o, tok, sizeof tok, NULL, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, id, subj, &o, tok, sizeof tok, &tn, NULL, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, id, subj, &o, tok, sizeof tok, &tn, rec, sizeof rec, NULL, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, id, subj, &o, tok, sizeof tok, &tn, rec, sizeof rec, &rn, NULL, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, id, subj, &o, tok, sizeof tok, &tn, rec, sizeof rec, &rn, &flag, NULL),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(plan_(s, id, subj, &o, tok, 100, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(plan_(s, id, subj, &o, tok, sizeof tok, &tn, rec, 64, &rn, &flag, sid),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(plan_(s, id, zero, &o, tok, sizeof tok, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_ANONYMOUS_SUBJECT);
    CHECK_STATUS(rt_sessions_plan_login(s, NULL, 0, id, subj, T0, STR(UA), STR("::1::2"), &o, tok,
                                        sizeof tok, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rt_sessions_plan_login(s, NULL, 0, id, subj, T0, STR(UA), STR("1.1.1.1\xff"), &o,
                                        tok, sizeof tok, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_INVALID_UTF8);
    CHECK_STATUS(rt_sessions_plan_login(s, NULL, 7, id, subj, T0, STR(UA), STR(IP), &o, tok,
                                        sizeof tok, &tn, rec, sizeof rec, &rn, &flag, sid),
                 RT_STATUS_NULL_PARAMETER);
    CHECK(untouched(&o, sizeof o, 0xAA) && untouched(tok, sizeof tok, 0xAA));
    CHECK(untouched(rec, sizeof rec, 0xAA) && untouched(sid, sizeof sid, 0xAA));
    CHECK(tn == 777 && rn == 777 && !flag);

    WHERE("rt_sessions_logout errors");
    memset(log_id, 0x55, sizeof log_id);
    CHECK_STATUS(rt_sessions_logout(NULL, STR(c), T0, &flag, log_id), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_logout(s, STR(c), T0, NULL, log_id), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_logout(s, STR(c), T0, &flag, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_logout(s, NULL, 6, T0, &flag, log_id), RT_STATUS_NULL_PARAMETER);
    CHECK(untouched(log_id, sizeof log_id, 0x55) && !flag);
    flag = true;
    CHECK_STATUS(rt_sessions_logout(s, NULL, 0, T0, &flag, log_id), RT_STATUS_OK);
    CHECK(!flag);

    WHERE("rt_sessions_logout_target errors");
    flag = false;
    CHECK_STATUS(rt_sessions_logout_target(NULL, STR(c), T0, &flag, sid), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_logout_target(s, STR(c), T0, NULL, sid), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_logout_target(s, STR(c), T0, &flag, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_logout_target(s, NULL, 2, T0, &flag, sid), RT_STATUS_NULL_PARAMETER);
    CHECK(untouched(sid, sizeof sid, 0xAA) && !flag);

    WHERE("rt_sessions_revoke_record errors");
    CHECK_STATUS(rt_sessions_load_record(s, id, rec, sizeof rec, &rn, &flag), RT_STATUS_OK);
    CHECK(flag && rn == RT_RECORD_LEN);
    {
        uint8_t out[RT_RECORD_LEN];
        size_t on = 777;
        memset(out, 0xAA, sizeof out);
        flag2 = false;
        CHECK_STATUS(rt_sessions_revoke_record(NULL, rec, rn, RT_REVOKE_ADMIN, T0, out, sizeof out,
                                               &on, &flag2),
                     RT_STATUS_NULL_PARAMETER);
        CHECK_STATUS(rt_sessions_revoke_record(s, NULL, rn, RT_REVOKE_ADMIN, T0, out, sizeof out,
                                               &on, &flag2),
                     RT_STATUS_NULL_PARAMETER);
        CHECK_STATUS(rt_sessions_revoke_record(s, rec, rn, RT_REVOKE_ADMIN, T0, NULL, sizeof out,
                                               &on, &flag2),
                     RT_STATUS_NULL_PARAMETER);
        CHECK_STATUS(rt_sessions_revoke_record(s, rec, rn, RT_REVOKE_ADMIN, T0, out, sizeof out,
                                               NULL, &flag2),
                     RT_STATUS_NULL_PARAMETER);
        CHECK_STATUS(rt_sessions_revoke_record(s, rec, rn, RT_REVOKE_ADMIN, T0, out, sizeof out,
                                               &on, NULL),
                     RT_STATUS_NULL_PARAMETER);
        CHECK_STATUS(rt_sessions_revoke_record(s, rec, rn, RT_REVOKE_ADMIN, T0, out, 127, &on,
                                               &flag2),
                     RT_STATUS_BUFFER_TOO_SMALL);
        CHECK_STATUS(rt_sessions_revoke_record(s, rec, rn, 0, T0, out, sizeof out, &on, &flag2),
                     RT_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(rt_sessions_revoke_record(s, rec, rn, 5, T0, out, sizeof out, &on, &flag2),
                     RT_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(rt_sessions_revoke_record(s, rec, rn - 1, RT_REVOKE_ADMIN, T0, out,
                                               sizeof out, &on, &flag2),
                     RT_STATUS_RECORD_WRONG_LENGTH);
        rec[0] = 'Z';
        CHECK_STATUS(rt_sessions_revoke_record(s, rec, rn, RT_REVOKE_ADMIN, T0, out, sizeof out,
                                               &on, &flag2),
                     RT_STATUS_RECORD_FOREIGN);
        CHECK(untouched(out, sizeof out, 0xAA) && on == 777 && !flag2);
    }

    WHERE("rt_sessions_revoke_all errors");
    CHECK_STATUS(rt_sessions_revoke_all(NULL, subj, T0, &count), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_revoke_all(s, NULL, T0, &count), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_revoke_all(s, subj, T0, NULL), RT_STATUS_NULL_PARAMETER);
    CHECK(count == 777);

    WHERE("rt_sessions_load_record errors");
    rn = 777;
    flag = false;
    memset(rec, 0xAA, sizeof rec);
    CHECK_STATUS(rt_sessions_load_record(NULL, id, rec, sizeof rec, &rn, &flag),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_load_record(s, NULL, rec, sizeof rec, &rn, &flag),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_load_record(s, id, NULL, sizeof rec, &rn, &flag),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_load_record(s, id, rec, sizeof rec, NULL, &flag),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_load_record(s, id, rec, sizeof rec, &rn, NULL),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_sessions_load_record(s, id, rec, sizeof rec - 1, &rn, &flag),
                 RT_STATUS_BUFFER_TOO_SMALL);
    CHECK(untouched(rec, sizeof rec, 0xAA) && rn == 777 && !flag);

    rt_sessions_free(s);
    rt_keyring_free(k);
}

/* A full store: RT_MEMORY_STORE_CAPACITY active sessions, then RT_STATUS_STORE_FULL. */
static void test_store_full(void)
{
    rt_keyring *k = keyring_of(1, 0);
    rt_policy p;
    rt_sessions *s;
    uint8_t id[16], subj[16], tok[RT_MAX_TOKEN_LEN];
    size_t tn, i, ok = 0;
    rt_outcome o;

    WHERE("store full");
    if (!CHECK(k != NULL))
        return;
    rt_policy_default(&p);
    s = sessions_of(k, &p);
    subject_of(subj, 5);
    memset(id, 0, sizeof id);
    for (i = 0; i < RT_MEMORY_STORE_CAPACITY; i++) {
        id[0] = (uint8_t)(i >> 8);
        id[1] = (uint8_t)i;
        id[2] = 0x77;
        if (rt_sessions_login(s, NULL, 0, id, subj, T0 + i, STR(UA), STR(IP), &o, tok, sizeof tok,
                              &tn) == RT_STATUS_OK)
            ok++;
    }
    CHECK(ok == RT_MEMORY_STORE_CAPACITY);
    id[0] = 0xff;
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0 + 5000, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_STORE_FULL);
    /* Revoked sessions make room again. */
    {
        size_t count = 0;
        CHECK_STATUS(rt_sessions_revoke_all(s, subj, T0 + 6000, &count), RT_STATUS_OK);
        CHECK(count == RT_MEMORY_STORE_CAPACITY);
    }
    CHECK_STATUS(rt_sessions_login(s, NULL, 0, id, subj, T0 + 7000, STR(UA), STR(IP), &o, tok,
                                   sizeof tok, &tn),
                 RT_STATUS_OK);
    rt_sessions_free(s);
    rt_keyring_free(k);
}

/* ---- a full request flow through rt_sessions_handle ------------------------------------- */

static void test_request_flow(void)
{
    rt_keyring *k = keyring_of(1, 0);
    rt_policy p;
    rt_sessions *s;
    struct answer a, b;
    struct tok anon, t0, t1, t2;
    uint8_t anon_id[16], sid[16], rec[RT_RECORD_LEN];
    char log_id[RT_LOG_ID_LEN + 1], t0_log_id[RT_LOG_ID_LEN + 1];
    rt_record r;
    size_t rn;
    bool found;

    if (!CHECK(k != NULL))
        return;
    rt_policy_default(&p);
    s = sessions_of(k, &p);
    if (!CHECK(s != NULL)) {
        rt_keyring_free(k);
        return;
    }

    WHERE("flow: anonymous visit");
    a = handle(s, NULL, RT_KIND_ADVANCE, T0, UA, IP, 1);
    fill_id(anon_id, 1);
    CHECK_STATUS(a.status, RT_STATUS_OK);
    CHECK(a.o.proceed && rule_is(&a.o, "new_anonymous") && a.o.has_token);
    CHECK(a.t.n == RT_MAX_TOKEN_LEN && memcmp(a.t.b, "rtf1_", 5) == 0);
    CHECK(!a.o.authenticated && a.o.has_session && memcmp(a.o.session_id, anon_id, 16) == 0);
    CHECK(rt_log_id(anon_id, log_id) == RT_STATUS_OK && strcmp(a.o.log_id, log_id) == 0);
    CHECK(a.o.max_age_secs == 86400 && a.o.expires_at == T0 + 86400000 && a.o.at_ms == T0);
    anon = a.t;

    WHERE("flow: anonymous read");
    a = handle(s, &anon, RT_KIND_READ, T0 + 1000, UA, IP, 2);
    CHECK(a.status == RT_STATUS_OK && a.o.proceed && rule_is(&a.o, "anonymous"));
    CHECK(!a.o.has_token && memcmp(a.o.session_id, anon_id, 16) == 0);

    WHERE("flow: login");
    a = login(s, &anon, 10, 1001, T0 + 60000);
    fill_id(sid, 10);
    CHECK_STATUS(a.status, RT_STATUS_OK);
    CHECK(a.o.proceed && rule_is(&a.o, "fresh") && a.o.has_token && a.o.authenticated);
    CHECK(a.t.n == 49 && memcmp(a.t.b, "rtc1_", 5) == 0 && a.o.counter == 0);
    CHECK(memcmp(a.o.session_id, sid, 16) == 0 && a.o.has_parent);
    CHECK(memcmp(a.o.parent, anon_id, 16) == 0 && a.o.subject[15] == (1001 & 0xff));
    CHECK(a.o.max_age_secs == 43200);
    t0 = a.t;
    strcpy(t0_log_id, a.o.log_id);

    WHERE("flow: the anonymous cookie after login");
    a = handle(s, &anon, RT_KIND_READ, T0 + 61000, UA, IP, 3);
    CHECK(a.status == RT_STATUS_OK && !a.o.proceed && rule_is(&a.o, "revoked"));
    CHECK(a.o.detail == RT_REVOKE_UPGRADED_AT_LOGIN && a.o.clear_cookie && !a.o.has_token);

    WHERE("flow: page loads roll the token");
    a = handle(s, &t0, RT_KIND_ADVANCE, T0 + 120000, UA, IP, 4);
    CHECK(a.status == RT_STATUS_OK && a.o.proceed && rule_is(&a.o, "fresh") && a.o.has_token);
    CHECK(a.o.counter == 1 && !same_tok(&a.t, &t0) && a.o.binding_user_agent && a.o.binding_ip);
    t1 = a.t;
    a = handle(s, &t1, RT_KIND_ADVANCE, T0 + 180000, UA, IP, 5);
    CHECK(a.status == RT_STATUS_OK && a.o.proceed && rule_is(&a.o, "fresh") && a.o.has_token);
    CHECK(a.o.counter == 2 && !same_tok(&a.t, &t1));
    t2 = a.t;

    WHERE("flow: parallel reads in the grace window");
    a = handle(s, &t1, RT_KIND_READ, T0 + 181000, UA, IP, 6);
    CHECK(a.status == RT_STATUS_OK && a.o.proceed && rule_is(&a.o, "concurrent_in_grace"));
    CHECK(a.o.steps == 1 && !a.o.has_token && a.o.counter == 2);
    b = handle(s, &t2, RT_KIND_READ, T0 + 181500, UA, IP, 7);
    CHECK(b.status == RT_STATUS_OK && b.o.proceed && rule_is(&b.o, "current") && !b.o.has_token);
    a = handle(s, &t1, RT_KIND_ADVANCE, T0 + 182000, UA, IP, 8);
    CHECK(a.status == RT_STATUS_OK && a.o.proceed && rule_is(&a.o, "concurrent_in_grace"));
    CHECK(a.o.has_token && same_tok(&a.t, &t2)); /* the current token, handed out again */

    WHERE("flow: a copied old cookie after the grace window");
    a = handle(s, &t1, RT_KIND_ADVANCE, T0 + 300000, THIEF_UA, THIEF_IP, 9);
    CHECK(a.status == RT_STATUS_OK && !a.o.proceed && rule_is(&a.o, "reuse"));
    CHECK(a.o.clear_cookie && !a.o.has_token && a.o.has_presented);
    CHECK(a.o.presented == 1 && a.o.current == 2 && !a.o.binding_user_agent);
    CHECK(a.o.at_ms == T0 + 300000);
    /* The header: has_session "A session is known", session_id "(proceed, or the one a
     * refused cookie named)"; the core's refusal event carries the log id. */
    CHECK(a.o.has_session && strcmp(a.o.log_id, t0_log_id) == 0);

    WHERE("flow: the session is revoked for everyone");
    a = handle(s, &t2, RT_KIND_READ, T0 + 301000, UA, IP, 10);
    CHECK(a.status == RT_STATUS_OK && !a.o.proceed && rule_is(&a.o, "revoked"));
    CHECK(a.o.detail == RT_REVOKE_REUSE && a.o.clear_cookie);
    CHECK_STATUS(rt_sessions_load_record(s, sid, rec, sizeof rec, &rn, &found), RT_STATUS_OK);
    CHECK(found && rn == RT_RECORD_LEN);
    CHECK_STATUS(rt_record_decode(rec, rn, &r), RT_STATUS_OK);
    CHECK(r.state == RT_REVOKE_REUSE && r.revoked_at == T0 + 300000 && r.counter == 2);

    WHERE("flow: logout and revoke-all");
    a = login(s, NULL, 20, 1001, T0 + 400000);
    CHECK(a.status == RT_STATUS_OK);
    b = login(s, NULL, 21, 1001, T0 + 400001);
    CHECK(b.status == RT_STATUS_OK);
    CHECK_STATUS(rt_sessions_logout(s, a.t.b, a.t.n, T0 + 401000, &found, log_id), RT_STATUS_OK);
    CHECK(found && strcmp(log_id, a.o.log_id) == 0);
    CHECK_STATUS(rt_sessions_logout(s, a.t.b, a.t.n, T0 + 402000, &found, log_id), RT_STATUS_OK);
    CHECK(!found && log_id[0] == '\0');
    CHECK_STATUS(rt_sessions_logout(s, STR("garbage"), T0 + 402000, &found, log_id), RT_STATUS_OK);
    CHECK(!found);
    a = handle(s, &a.t, RT_KIND_READ, T0 + 403000, UA, IP, 22);
    CHECK(!a.o.proceed && rule_is(&a.o, "revoked") && a.o.detail == RT_REVOKE_LOGOUT);
    {
        uint8_t subj[16];
        size_t count = 99;
        subject_of(subj, 1001);
        CHECK_STATUS(rt_sessions_revoke_all(s, subj, T0 + 404000, &count), RT_STATUS_OK);
        CHECK(count == 1); /* b; a is logged out, the first session revoked for reuse */
        CHECK_STATUS(rt_sessions_revoke_all(s, subj, T0 + 405000, &count), RT_STATUS_OK);
        CHECK(count == 0);
    }
    a = handle(s, &b.t, RT_KIND_ADVANCE, T0 + 406000, UA, IP, 23);
    CHECK(!a.o.proceed && rule_is(&a.o, "revoked") && a.o.detail == RT_REVOKE_ADMIN);

    WHERE("flow: no cookie with anonymous sessions off");
    rt_sessions_free(s);
    p.anonymous = false;
    s = sessions_of(k, &p);
    a = handle(s, NULL, RT_KIND_ADVANCE, T0, UA, IP, 30);
    CHECK(a.status == RT_STATUS_OK && !a.o.proceed && rule_is(&a.o, "no_session"));
    CHECK(!a.o.clear_cookie && !a.o.has_token);
    {
        struct tok junk;
        memcpy(junk.b, "hello", 5);
        junk.n = 5;
        a = handle(s, &junk, RT_KIND_ADVANCE, T0, UA, IP, 31);
        CHECK(!a.o.proceed && rule_is(&a.o, "malformed") && a.o.clear_cookie);
        CHECK(a.o.detail == 1 + (RT_STATUS_TOKEN_WRONG_PREFIX - 200));
    }
    rt_sessions_free(s);
    rt_keyring_free(k);
}

/* ---- the store-free flow: "your database" is this table --------------------------------- */

#define DB_ROWS 8
static struct row {
    int used;
    uint8_t id[16];
    uint8_t rec[RT_RECORD_LEN];
    uint64_t version; /* the write version column the compare-and-swap looks at */
} db[DB_ROWS];

static struct row *db_find(const uint8_t id[16])
{
    int i;
    for (i = 0; i < DB_ROWS; i++)
        if (db[i].used && memcmp(db[i].id, id, 16) == 0)
            return &db[i];
    return NULL;
}

static uint64_t version_of(const uint8_t *rec)
{
    rt_record r;
    return rt_record_decode(rec, RT_RECORD_LEN, &r) == RT_STATUS_OK ? r.version : UINT64_MAX;
}

/* INSERT (fails when the id exists). */
static int db_insert(const uint8_t *rec)
{
    rt_record r;
    int i;
    if (rt_record_decode(rec, RT_RECORD_LEN, &r) != RT_STATUS_OK || db_find(r.session_id))
        return 0;
    for (i = 0; i < DB_ROWS; i++) {
        if (!db[i].used) {
            db[i].used = 1;
            memcpy(db[i].id, r.session_id, 16);
            memcpy(db[i].rec, rec, RT_RECORD_LEN);
            db[i].version = r.version;
            return 1;
        }
    }
    return 0;
}

/* UPDATE ... WHERE version = expected (compare-and-swap). */
static int db_cas(const uint8_t *rec, uint64_t expected)
{
    rt_record r;
    struct row *row;
    if (rt_record_decode(rec, RT_RECORD_LEN, &r) != RT_STATUS_OK)
        return 0;
    row = db_find(r.session_id);
    if (row == NULL || row->version != expected)
        return 0;
    memcpy(row->rec, rec, RT_RECORD_LEN);
    row->version = r.version;
    return 1;
}

struct served {
    struct answer a;
    int saves, conflicts, primary_loads;
};

/* One request the way a server with its own database runs it: begin; if a record is needed,
 * load it, finish, and act on RT_NEXT_*; compare-and-swap conflicts are retried (bounded). */
static struct served serve(const rt_sessions *s, const struct tok *cookie, uint8_t kind,
                           uint64_t now, const char *ua, const char *ip, uint8_t id_seed)
{
    struct served r;
    uint8_t new_id[16], sid[16], rec_out[RT_RECORD_LEN], next = 0;
    size_t rn = 0;
    uint64_t expected = 0;
    bool needs = false, from_primary = false;
    int attempt;

    memset(&r, 0, sizeof r);
    fill_id(new_id, id_seed);
    r.a.status = rt_sessions_begin(s, cookie ? cookie->b : NULL, cookie ? cookie->n : 0, kind,
                                   now, STR(ua), STR(ip), new_id, &r.a.o, r.a.t.b,
                                   sizeof r.a.t.b, &r.a.t.n, &needs, sid);
    if (r.a.status != RT_STATUS_OK || !needs)
        goto out;
    for (attempt = 0; attempt < 4; attempt++) {
        const struct row *row = db_find(sid);
        r.a.status = rt_sessions_finish(s, cookie ? cookie->b : NULL, cookie ? cookie->n : 0,
                                        kind, now, STR(ua), STR(ip), row ? row->rec : NULL,
                                        row ? RT_RECORD_LEN : 0, from_primary, &r.a.o, r.a.t.b,
                                        sizeof r.a.t.b, &r.a.t.n, &next, rec_out,
                                        sizeof rec_out, &rn, &expected);
        if (r.a.status != RT_STATUS_OK || next == RT_NEXT_DONE)
            goto out;
        if (next == RT_NEXT_LOAD_PRIMARY) {
            r.primary_loads++;
            from_primary = true; /* this table is the primary */
            continue;
        }
        if (db_cas(rec_out, expected)) {
            r.saves++;
            goto out;
        }
        r.conflicts++;
    }
    r.a.status = rt_sessions_store_failed(s, cookie ? cookie->b : NULL, cookie ? cookie->n : 0,
                                          now, true, &r.a.o);
out:
    if (!r.a.o.has_token)
        r.a.t.n = 0;
    return r;
}

/* Plans a login and inserts its record; retires (revokes) the session it replaces. */
static struct answer plan_and_insert(const rt_sessions *s, const struct tok *cookie,
                                     uint8_t id_seed, unsigned subject, uint64_t now,
                                     bool *had_retire, uint8_t retired[16])
{
    struct answer a;
    uint8_t new_id[16], subj[16], rec[RT_RECORD_LEN], out[RT_RECORD_LEN];
    size_t rn = 0, on = 0;
    bool changed = false;
    struct row *old;

    fill_id(new_id, id_seed);
    subject_of(subj, subject);
    memset(&a, 0, sizeof a);
    a.status = rt_sessions_plan_login(s, cookie ? cookie->b : NULL, cookie ? cookie->n : 0,
                                      new_id, subj, now, STR(UA), STR(IP), &a.o, a.t.b,
                                      sizeof a.t.b, &a.t.n, rec, sizeof rec, &rn, had_retire,
                                      retired);
    if (a.status != RT_STATUS_OK)
        return a;
    CHECK(rn == RT_RECORD_LEN);
    CHECK(db_insert(rec));
    if (*had_retire && (old = db_find(retired)) != NULL) {
        CHECK_STATUS(rt_sessions_revoke_record(s, old->rec, RT_RECORD_LEN,
                                               RT_REVOKE_UPGRADED_AT_LOGIN, now, out, sizeof out,
                                               &on, &changed),
                     RT_STATUS_OK);
        CHECK(changed && db_cas(out, old->version));
    }
    return a;
}

static void test_store_free_flow(void)
{
    rt_keyring *k = keyring_of(1, 0);
    rt_policy p;
    rt_sessions *s;
    struct served r, r2;
    struct answer a;
    struct tok t0, t1, t2, t3, anon;
    uint8_t sid[16], other[16], retired[16], replica[RT_RECORD_LEN], rec_out[RT_RECORD_LEN];
    uint8_t next = 0, tid[16];
    uint64_t v, expected = 0;
    size_t rn = 0;
    bool had_retire = true, needs = true, changed = false, has_target = false;
    struct row *row;

    memset(db, 0, sizeof db);
    if (!CHECK(k != NULL))
        return;
    rt_policy_default(&p);
    s = sessions_of(k, &p);
    if (!CHECK(s != NULL)) {
        rt_keyring_free(k);
        return;
    }

    WHERE("store-free: anonymous visitors need no record");
    {
        uint8_t new_id[16];
        fill_id(new_id, 40);
        a.status = rt_sessions_begin(s, NULL, 0, RT_KIND_ADVANCE, T0, STR(UA), STR(IP), new_id,
                                     &a.o, a.t.b, sizeof a.t.b, &a.t.n, &needs, tid);
        CHECK(a.status == RT_STATUS_OK && !needs && a.o.proceed);
        CHECK(rule_is(&a.o, "new_anonymous") && a.o.has_token);
        anon = a.t;
    }

    WHERE("store-free: plan_login from the anonymous session");
    a = plan_and_insert(s, &anon, 41, 7, T0 + 1000, &had_retire, retired);
    CHECK_STATUS(a.status, RT_STATUS_OK);
    CHECK(!had_retire); /* an anonymous session is not stored: nothing to revoke */
    fill_id(sid, 40);
    CHECK(a.o.has_parent && memcmp(a.o.parent, sid, 16) == 0);
    fill_id(sid, 41);
    CHECK(memcmp(a.o.session_id, sid, 16) == 0 && a.o.counter == 0 && a.t.n == 49);
    t0 = a.t;
    row = db_find(sid);
    if (!CHECK(row != NULL))
        goto done;
    v = row->version;

    WHERE("store-free: a page load saves with compare-and-swap");
    r = serve(s, &t0, RT_KIND_ADVANCE, T0 + 60000, UA, IP, 42);
    CHECK_STATUS(r.a.status, RT_STATUS_OK);
    CHECK(r.a.o.proceed && rule_is(&r.a.o, "fresh") && r.a.o.has_token && r.a.o.counter == 1);
    CHECK(r.saves == 1 && r.conflicts == 0 && row->version == v + 1);
    t1 = r.a.t;
    memcpy(replica, row->rec, RT_RECORD_LEN); /* a replica that will fall behind */

    WHERE("store-free: a compare-and-swap conflict");
    {
        /* Request A loads the record and is told to save... */
        struct answer A;
        bool needsA = false;
        uint8_t sidA[16];
        memset(&A, 0, sizeof A);
        CHECK_STATUS(rt_sessions_begin(s, t1.b, t1.n, RT_KIND_ADVANCE, T0 + 120000, STR(UA),
                                       STR(IP), NULL, &A.o, A.t.b, sizeof A.t.b, &A.t.n, &needsA,
                                       sidA),
                     RT_STATUS_OK);
        CHECK(needsA && memcmp(sidA, sid, 16) == 0);
        CHECK_STATUS(rt_sessions_finish(s, t1.b, t1.n, RT_KIND_ADVANCE, T0 + 120000, STR(UA),
                                        STR(IP), row->rec, RT_RECORD_LEN, false, &A.o, A.t.b,
                                        sizeof A.t.b, &A.t.n, &next, rec_out, sizeof rec_out, &rn,
                                        &expected),
                     RT_STATUS_OK);
        CHECK(next == RT_NEXT_SAVE && expected == row->version && rn == RT_RECORD_LEN);
        /* ...but request B (another tab) saves first. */
        r2 = serve(s, &t1, RT_KIND_ADVANCE, T0 + 120500, UA, IP, 43);
        CHECK(r2.a.status == RT_STATUS_OK && rule_is(&r2.a.o, "fresh") && r2.saves == 1);
        t2 = r2.a.t;
        CHECK(!db_cas(rec_out, expected)); /* A's save conflicts */
        /* A reloads and finishes again: its token is now one behind, inside the window. */
        CHECK_STATUS(rt_sessions_finish(s, t1.b, t1.n, RT_KIND_ADVANCE, T0 + 120000, STR(UA),
                                        STR(IP), row->rec, RT_RECORD_LEN, false, &A.o, A.t.b,
                                        sizeof A.t.b, &A.t.n, &next, rec_out, sizeof rec_out, &rn,
                                        &expected),
                     RT_STATUS_OK);
        CHECK(next == RT_NEXT_SAVE && expected == row->version);
        CHECK(db_cas(rec_out, expected));
        CHECK(A.o.proceed && rule_is(&A.o, "concurrent_in_grace") && A.o.steps == 1);
        CHECK(A.o.has_token && A.t.n == t2.n && memcmp(A.t.b, t2.b, t2.n) == 0);
    }

    WHERE("store-free: the database failed");
    memset(&a.o, 0xAA, sizeof a.o);
    CHECK_STATUS(rt_sessions_store_failed(s, t2.b, t2.n, T0 + 130000, true, &a.o), RT_STATUS_OK);
    CHECK(!a.o.proceed && rule_is(&a.o, "busy") && !a.o.clear_cookie && !a.o.has_token);
    CHECK_STATUS(rt_sessions_store_failed(s, t2.b, t2.n, T0 + 130000, false, &a.o), RT_STATUS_OK);
    CHECK(!a.o.proceed && rule_is(&a.o, "store_unavailable") && !a.o.clear_cookie);

    WHERE("store-free: a lagging replica, then the primary");
    {
        struct answer A;
        bool needsA = false;
        uint8_t sidA[16];
        memset(&A, 0, sizeof A);
        CHECK_STATUS(rt_sessions_begin(s, t2.b, t2.n, RT_KIND_ADVANCE, T0 + 200000, STR(UA),
                                       STR(IP), NULL, &A.o, A.t.b, sizeof A.t.b, &A.t.n, &needsA,
                                       sidA),
                     RT_STATUS_OK);
        CHECK(needsA);
        CHECK_STATUS(rt_sessions_finish(s, t2.b, t2.n, RT_KIND_ADVANCE, T0 + 200000, STR(UA),
                                        STR(IP), replica, RT_RECORD_LEN, false, &A.o, A.t.b,
                                        sizeof A.t.b, &A.t.n, &next, rec_out, sizeof rec_out, &rn,
                                        &expected),
                     RT_STATUS_OK);
        CHECK(next == RT_NEXT_LOAD_PRIMARY && !A.o.proceed && !A.o.has_token);
        CHECK_STATUS(rt_sessions_finish(s, t2.b, t2.n, RT_KIND_ADVANCE, T0 + 200000, STR(UA),
                                        STR(IP), row->rec, RT_RECORD_LEN, true, &A.o, A.t.b,
                                        sizeof A.t.b, &A.t.n, &next, rec_out, sizeof rec_out, &rn,
                                        &expected),
                     RT_STATUS_OK);
        CHECK(next == RT_NEXT_SAVE && db_cas(rec_out, expected));
        CHECK(A.o.proceed && rule_is(&A.o, "fresh") && A.o.counter == 3 && A.o.has_token);
        t3 = A.t;
    }

    WHERE("store-free: the record is missing or damaged");
    {
        struct tok ghost;
        rt_keyring *kk = k;
        fill_id(other, 99);
        CHECK_STATUS(rt_token_mint_compact(kk, 1, other, 0, ghost.b, sizeof ghost.b, &ghost.n),
                     RT_STATUS_OK);
        r = serve(s, &ghost, RT_KIND_ADVANCE, T0 + 210000, UA, IP, 44);
        CHECK(r.a.status == RT_STATUS_OK && !r.a.o.proceed && rule_is(&r.a.o, "unknown_session"));
        CHECK(r.a.o.clear_cookie && r.saves == 0);
        memcpy(replica, row->rec, RT_RECORD_LEN);
        replica[100] ^= 0x40;
        CHECK_STATUS(rt_sessions_finish(s, t3.b, t3.n, RT_KIND_READ, T0 + 210000, STR(UA), STR(IP),
                                        replica, RT_RECORD_LEN, false, &a.o, a.t.b, sizeof a.t.b,
                                        &a.t.n, &next, rec_out, sizeof rec_out, &rn, &expected),
                     RT_STATUS_OK);
        CHECK(next == RT_NEXT_DONE && !a.o.proceed && rule_is(&a.o, "unknown_session"));
        CHECK(a.o.clear_cookie);
    }

    WHERE("store-free: login over an authenticated session retires it");
    a = plan_and_insert(s, &t3, 45, 7, T0 + 220000, &had_retire, retired);
    CHECK_STATUS(a.status, RT_STATUS_OK);
    CHECK(had_retire && memcmp(retired, sid, 16) == 0);
    /* Retired, not linked: only an anonymous session becomes a parent (it may be another
     * user's session). */
    CHECK(!a.o.has_parent);
    r = serve(s, &t3, RT_KIND_READ, T0 + 221000, UA, IP, 46);
    CHECK(!r.a.o.proceed && rule_is(&r.a.o, "revoked"));
    CHECK(r.a.o.detail == RT_REVOKE_UPGRADED_AT_LOGIN && r.a.o.clear_cookie);
    t0 = a.t; /* the new session's first token */
    fill_id(sid, 45);

    WHERE("store-free: logout_target and revoke_record");
    CHECK_STATUS(rt_sessions_logout_target(s, t0.b, t0.n, T0 + 230000, &has_target, tid),
                 RT_STATUS_OK);
    CHECK(has_target && memcmp(tid, sid, 16) == 0);
    row = db_find(tid);
    if (!CHECK(row != NULL))
        goto done;
    CHECK_STATUS(rt_sessions_revoke_record(s, row->rec, RT_RECORD_LEN, RT_REVOKE_LOGOUT,
                                           T0 + 230000, rec_out, sizeof rec_out, &rn, &changed),
                 RT_STATUS_OK);
    CHECK(changed && rn == RT_RECORD_LEN && version_of(rec_out) > row->version);
    CHECK(db_cas(rec_out, row->version));
    CHECK_STATUS(rt_sessions_revoke_record(s, row->rec, RT_RECORD_LEN, RT_REVOKE_ADMIN,
                                           T0 + 231000, rec_out, sizeof rec_out, &rn, &changed),
                 RT_STATUS_OK);
    CHECK(!changed); /* already revoked: nothing to save */
    r = serve(s, &t0, RT_KIND_ADVANCE, T0 + 232000, UA, IP, 47);
    CHECK(!r.a.o.proceed && rule_is(&r.a.o, "revoked") && r.a.o.detail == RT_REVOKE_LOGOUT);
    CHECK_STATUS(rt_sessions_logout_target(s, anon.b, anon.n, T0 + 233000, &has_target, tid),
                 RT_STATUS_OK);
    CHECK(!has_target); /* anonymous sessions are not stored */
    CHECK_STATUS(rt_sessions_logout_target(s, STR("nonsense"), T0 + 233000, &has_target, tid),
                 RT_STATUS_OK);
    CHECK(!has_target);
    (void)t1;
done:
    rt_sessions_free(s);
    rt_keyring_free(k);
}

static uint8_t request_kind(const char *method, const char *mode, const char *site, const char *sec_purpose,
                            const char *accept)
{
    uint8_t kind = 0xff;
#define HDR(h) (const uint8_t *)(h), ((h) ? strlen(h) : 0)
    CHECK_STATUS(rt_request_kind(HDR(method), HDR(mode), HDR(site), HDR(sec_purpose), NULL, 0, HDR(accept), &kind),
                 RT_STATUS_OK);
#undef HDR
    return kind;
}

static void test_request_kind(void)
{
    WHERE("rt_request_kind");
    CHECK(request_kind("GET", "navigate", "same-origin", NULL, NULL) == RT_KIND_ADVANCE);
    CHECK(request_kind("GET", "navigate", "none", NULL, NULL) == RT_KIND_ADVANCE);
    CHECK(request_kind("GET", "navigate", "cross-site", NULL, NULL) == RT_KIND_READ);
    CHECK(request_kind("GET", "cors", "same-origin", NULL, "text/html") == RT_KIND_READ);
    CHECK(request_kind("GET", "navigate", "same-origin", "prefetch", NULL) == RT_KIND_READ);
    CHECK(request_kind("GET", NULL, NULL, NULL, "text/html,application/xhtml+xml") == RT_KIND_ADVANCE);
    CHECK(request_kind("GET", NULL, NULL, NULL, "*/*") == RT_KIND_READ);
    CHECK(request_kind("POST", NULL, NULL, NULL, "text/html") == RT_KIND_READ);
    uint8_t kind = 0xff;
    CHECK_STATUS(rt_request_kind((const uint8_t *)"GET", 3, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL),
                 RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_request_kind(NULL, 3, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, &kind), RT_STATUS_NULL_PARAMETER);
    CHECK(kind == 0xff);

    WHERE("rt_sessions_deny");
    {
        uint8_t sid[16] = {1};
        CHECK_STATUS(rt_sessions_deny(NULL, sid, 1, 0), RT_STATUS_NULL_PARAMETER);
    }
}

int main(void)
{
    test_names();
    test_keyring();
    test_keyring_audience();
    test_policy();
    test_log_id();
    test_tokens();
    test_records();
    test_decide();
    test_cookies();
    test_sessions_errors();
    test_store_full();
    test_request_flow();
    test_store_free_flow();
    test_request_kind();
    return harness_finish("test_api");
}
