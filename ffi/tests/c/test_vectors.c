/*
 * The golden vectors through the C ABI, byte for byte: every entry of vectors/rolltoken-v1.txt,
 * the line form of vectors/rolltoken-v1.json written by the same generator run (format:
 * vectors/README.md, "The line file"). No JSON parser in C.
 *
 *   keys       rt_token_mint_compact (token text and its tag), rt_keyring_binding, rt_log_id
 *   tokens     rt_token_mint_full / rt_token_mint_compact / rt_token_parse / rt_token_verify
 *   records    rt_record_encode and rt_record_decode, both ways; decoding errors
 *   sequences  rt_decide step by step: rule, details, binding, clear_cookie, token, record
 *   sessions   the façade: rt_sessions_handle / _login / _logout / _revoke_all
 *
 * Usage: test_vectors [path to rolltoken-v1.txt]. Plain C99.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_FIELDS 40
#define MAX_BYTES 1024

/* ---- fields ----------------------------------------------------------------------------- */

/* A byte field: `-` is null, `.` empty, else lowercase hex. */
struct bytes {
    int null;
    size_t n;
    uint8_t b[MAX_BYTES];
};

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int parse_bytes(const char *f, struct bytes *out)
{
    size_t len = strlen(f), i;
    out->null = 0;
    out->n = 0;
    if (strcmp(f, "-") == 0) {
        out->null = 1;
        return 1;
    }
    if (strcmp(f, ".") == 0)
        return 1;
    if (len % 2 != 0 || len / 2 > MAX_BYTES)
        return 0;
    for (i = 0; i < len / 2; i++) {
        int hi = hexdigit(f[2 * i]), lo = hexdigit(f[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out->b[i] = (uint8_t)(hi * 16 + lo);
    }
    out->n = len / 2;
    return 1;
}

/* Exactly `n` bytes of hex into `out`. */
static int parse_fixed(const char *f, uint8_t *out, size_t n)
{
    static struct bytes tmp;
    if (!parse_bytes(f, &tmp) || tmp.null || tmp.n != n)
        return 0;
    memcpy(out, tmp.b, n);
    return 1;
}

static int parse_u64(const char *f, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (f[0] < '0' || f[0] > '9')
        return 0;
    errno = 0;
    v = strtoull(f, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    *out = (uint64_t)v;
    return 1;
}

static int parse_bool(const char *f, bool *out)
{
    if (strcmp(f, "0") != 0 && strcmp(f, "1") != 0)
        return 0;
    *out = f[0] == '1';
    return 1;
}

/* A name from a table: its value, or -1. */
struct name {
    const char *name;
    int value;
};

static int lookup(const struct name *table, const char *f)
{
    for (; table->name != NULL; table++)
        if (strcmp(table->name, f) == 0)
            return table->value;
    return -1;
}

static const struct name TOKEN_ERRORS[] = {
    {"empty", RT_STATUS_TOKEN_EMPTY},
    {"too_long", RT_STATUS_TOKEN_TOO_LONG},
    {"wrong_prefix", RT_STATUS_TOKEN_WRONG_PREFIX},
    {"unsupported_version", RT_STATUS_TOKEN_UNSUPPORTED_VERSION},
    {"wrong_length", RT_STATUS_TOKEN_WRONG_LENGTH},
    {"bad_base64", RT_STATUS_TOKEN_BAD_BASE64},
    {"bad_flags", RT_STATUS_TOKEN_BAD_FLAGS},
    {"unknown_key", RT_STATUS_TOKEN_UNKNOWN_KEY},
    {"bad_tag", RT_STATUS_TOKEN_BAD_TAG},
    {NULL, 0},
};
static const struct name RECORD_ERRORS[] = {
    {"wrong_length", RT_STATUS_RECORD_WRONG_LENGTH},
    {"foreign", RT_STATUS_RECORD_FOREIGN},
    {"unsupported_version", RT_STATUS_RECORD_UNSUPPORTED_VERSION},
    {"corrupt", RT_STATUS_RECORD_CORRUPT},
    {"invalid", RT_STATUS_RECORD_INVALID},
    {NULL, 0},
};
static const struct name REVOKE_REASONS[] = {
    {"logout", RT_REVOKE_LOGOUT},
    {"reuse", RT_REVOKE_REUSE},
    {"upgraded_at_login", RT_REVOKE_UPGRADED_AT_LOGIN},
    {"admin", RT_REVOKE_ADMIN},
    {NULL, 0},
};
/* rt_outcome.detail for rule "expired". */
static const struct name EXPIRIES[] = {
    {"absolute", 1},
    {"idle", 2},
    {"counter_exhausted", 3},
    {NULL, 0},
};
static const struct name FORMS[] = {{"full", RT_FORM_FULL}, {"compact", RT_FORM_COMPACT}, {NULL, 0}};
static const struct name MODES[] = {{"strict", RT_MODE_STRICT}, {"cached", RT_MODE_CACHED}, {NULL, 0}};
static const struct name GRACES[] = {
    {"fixed", RT_GRACE_FIXED}, {"adaptive", RT_GRACE_ADAPTIVE}, {NULL, 0}};
static const struct name BINDINGS[] = {
    {"evidence", RT_BINDING_EVIDENCE},
    {"require_user_agent", RT_BINDING_REQUIRE_USER_AGENT},
    {"require_full", RT_BINDING_REQUIRE_FULL},
    {NULL, 0},
};
static const struct name KINDS[] = {{"advance", RT_KIND_ADVANCE}, {"read", RT_KIND_READ}, {NULL, 0}};
static const struct name LOGIN_ERRORS[] = {{"anonymous_subject", RT_STATUS_ANONYMOUS_SUBJECT},
                                           {NULL, 0}};

/* Set when a field does not parse: the line is then not checked further. */
static int bad_field;

#define FIELD_OK(expr) (CHECK(expr) ? 1 : (bad_field = 1, 0))

static uint64_t u64_at(char **f, int i)
{
    uint64_t v = 0;
    FIELD_OK(parse_u64(f[i], &v));
    return v;
}

static bool bool_at(char **f, int i)
{
    bool v = false;
    FIELD_OK(parse_bool(f[i], &v));
    return v;
}

static int name_at(const struct name *t, char **f, int i)
{
    int v = lookup(t, f[i]);
    FIELD_OK(v >= 0);
    return v < 0 ? 0 : v;
}

static void bytes_at(char **f, int i, struct bytes *out)
{
    FIELD_OK(parse_bytes(f[i], out));
}

static void fixed_at(char **f, int i, uint8_t *out, size_t n)
{
    FIELD_OK(parse_fixed(f[i], out, n));
}

/* A nullable byte string as a (pointer, length) input: NULL for null. */
#define IN(x) ((x).null ? NULL : (x).b), ((x).null ? 0 : (x).n)

/* ---- base64url, to look at a compact token's tag ----------------------------------------- */

static int b64url_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Unpadded base64url; returns the decoded length, or 0 on an invalid character. */
static size_t b64url_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return 0;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return 0;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o;
}

/* ---- records ----------------------------------------------------------------------------- */

#define RECORD_FIELDS 21

static void record_at(char **f, int i, rt_record *r)
{
    static struct bytes parent;
    memset(r, 0, sizeof *r);
    fixed_at(f, i + 0, r->session_id, 16);
    bytes_at(f, i + 1, &parent);
    if (!parent.null) {
        FIELD_OK(parent.n == 16);
        if (parent.n == 16) {
            r->has_parent = true;
            memcpy(r->parent, parent.b, 16);
        }
    }
    fixed_at(f, i + 2, r->subject, 16);
    if (strcmp(f[i + 3], "active") == 0) {
        FIELD_OK(strcmp(f[i + 4], "-") == 0);
        r->state = 0;
    } else {
        FIELD_OK(strcmp(f[i + 3], "revoked") == 0);
        r->state = (uint8_t)name_at(REVOKE_REASONS, f, i + 4);
    }
    r->authenticated = bool_at(f, i + 5);
    r->form = (uint8_t)name_at(FORMS, f, i + 6);
    r->counter = u64_at(f, i + 7);
    r->floor = u64_at(f, i + 8);
    r->version = u64_at(f, i + 9);
    r->created_at = u64_at(f, i + 10);
    r->expires_at = u64_at(f, i + 11);
    r->last_advance_at = u64_at(f, i + 12);
    r->grace_until = u64_at(f, i + 13);
    r->last_seen_at = u64_at(f, i + 14);
    r->grace_answers = (uint8_t)u64_at(f, i + 15);
    r->confirmed = bool_at(f, i + 16);
    r->lateness_ms = (uint32_t)u64_at(f, i + 17);
    fixed_at(f, i + 18, r->binding, 8);
    r->binding_key_id = (uint8_t)u64_at(f, i + 19);
    r->revoked_at = u64_at(f, i + 20);
}

/* Field by field (not memcmp: padding, and `parent` is unspecified without has_parent). */
static void check_record(const rt_record *got, const rt_record *want)
{
    CHECK(memcmp(got->session_id, want->session_id, 16) == 0);
    CHECK(got->has_parent == want->has_parent);
    CHECK(!want->has_parent || memcmp(got->parent, want->parent, 16) == 0);
    CHECK(memcmp(got->subject, want->subject, 16) == 0);
    CHECK(got->state == want->state);
    CHECK(got->authenticated == want->authenticated);
    CHECK(got->form == want->form);
    CHECK(got->counter == want->counter);
    CHECK(got->floor == want->floor);
    CHECK(got->version == want->version);
    CHECK(got->created_at == want->created_at);
    CHECK(got->expires_at == want->expires_at);
    CHECK(got->last_advance_at == want->last_advance_at);
    CHECK(got->grace_until == want->grace_until);
    CHECK(got->last_seen_at == want->last_seen_at);
    CHECK(got->grace_answers == want->grace_answers);
    CHECK(got->confirmed == want->confirmed);
    CHECK(got->lateness_ms == want->lateness_ms);
    CHECK(memcmp(got->binding, want->binding, 8) == 0);
    CHECK(got->binding_key_id == want->binding_key_id);
    CHECK(got->revoked_at == want->revoked_at);
}

/* ---- state -------------------------------------------------------------------------------- */

static rt_keyring *keyring;
static uint8_t minting_id;
static rt_policy policy;
static rt_sessions *sessions;
static int sessions_broken;
static uint8_t record[RT_RECORD_LEN]; /* the engine sequence's current record */
static uint64_t steps_left;

static unsigned long cases, want_cases, lines_read;
static unsigned long keys_cases, tokens_cases, records_cases, sequence_cases, sequence_steps,
    sessions_cases, sessions_ops;
static int saw_header, saw_end;

static void on_keyring(char **f, int n)
{
    uint8_t ids[4], secrets[4 * RT_KEY_LEN];
    uint64_t count = 0;
    int i;
    rt_keyring_free(keyring);
    keyring = NULL;
    minting_id = (uint8_t)u64_at(f, 1);
    if (!FIELD_OK(parse_u64(f[2], &count) && count >= 1 && count <= 4 &&
                  n == 3 + 2 * (int)count))
        return;
    for (i = 0; i < (int)count; i++) {
        ids[i] = (uint8_t)u64_at(f, 3 + 2 * i);
        fixed_at(f, 4 + 2 * i, secrets + RT_KEY_LEN * i, RT_KEY_LEN);
    }
    CHECK_STATUS(rt_keyring_new(ids, secrets, (size_t)count, minting_id, &keyring),
                 RT_STATUS_OK);
}

static void on_policy(char **f, int n)
{
    if (!FIELD_OK(n == 17))
        return;
    CHECK_STATUS(rt_policy_default(&policy), RT_STATUS_OK);
    policy.mode = (uint8_t)name_at(MODES, f, 1);
    policy.form = (uint8_t)name_at(FORMS, f, 2);
    policy.anonymous = bool_at(f, 3);
    policy.grace_kind = (uint8_t)name_at(GRACES, f, 4);
    if (policy.grace_kind == RT_GRACE_FIXED) {
        policy.grace_ms = (uint32_t)u64_at(f, 5);
        FIELD_OK(strcmp(f[6], "-") == 0 && strcmp(f[7], "-") == 0);
    } else {
        FIELD_OK(strcmp(f[5], "-") == 0);
        policy.grace_min_ms = (uint32_t)u64_at(f, 6);
        policy.grace_max_ms = (uint32_t)u64_at(f, 7);
    }
    policy.span_cap = (uint8_t)u64_at(f, 8);
    policy.answer_cap = (uint8_t)u64_at(f, 9);
    policy.reissue_one_behind = bool_at(f, 10);
    policy.jar_behind_ms = u64_at(f, 11);
    policy.binding = (uint8_t)name_at(BINDINGS, f, 12);
    policy.fresh_ms = u64_at(f, 13);
    policy.session_lifetime_ms = u64_at(f, 14);
    policy.idle_timeout_ms = u64_at(f, 15);
    policy.anonymous_lifetime_ms = u64_at(f, 16);
}

/* ---- keys --------------------------------------------------------------------------------- */

static void on_key_compact_tag(char **f, int n)
{
    uint8_t sid[16], tag[16], out[RT_MAX_TOKEN_LEN], body[40];
    static struct bytes token;
    uint64_t counter;
    size_t len = 0, bn;
    if (!FIELD_OK(n == 6))
        return;
    fixed_at(f, 2, sid, 16);
    counter = u64_at(f, 3);
    fixed_at(f, 4, tag, 16);
    bytes_at(f, 5, &token);
    if (bad_field)
        return;
    CHECK_STATUS(rt_token_mint_compact(keyring, minting_id, sid, counter, out, sizeof out, &len),
                 RT_STATUS_OK);
    CHECK_BYTES(out, len, token.b, token.n);
    /* Body: key id, session id, tag. */
    bn = len > 5 ? b64url_decode(out + 5, len - 5, body, sizeof body) : 0;
    CHECK(bn == 33);
    if (bn == 33) {
        CHECK(body[0] == minting_id);
        CHECK(memcmp(body + 1, sid, 16) == 0);
        CHECK(memcmp(body + 17, tag, 16) == 0);
    }
}

static void on_key_binding(char **f, int n)
{
    static struct bytes ua, ip;
    uint8_t want[8], got[8];
    if (!FIELD_OK(n == 5))
        return;
    bytes_at(f, 2, &ua);
    bytes_at(f, 3, &ip);
    fixed_at(f, 4, want, 8);
    if (bad_field)
        return;
    CHECK_STATUS(rt_keyring_binding(keyring, minting_id, IN(ua), IN(ip), got), RT_STATUS_OK);
    CHECK_BYTES(got, 8, want, 8);
}

static void on_key_log_id(char **f, int n)
{
    uint8_t sid[16];
    char got[RT_LOG_ID_LEN + 1];
    if (!FIELD_OK(n == 4))
        return;
    fixed_at(f, 2, sid, 16);
    if (bad_field)
        return;
    CHECK_STATUS(rt_log_id(sid, got), RT_STATUS_OK);
    CHECK(strcmp(got, f[3]) == 0);
}

/* ---- tokens ------------------------------------------------------------------------------- */

static void check_claims(const rt_claims *got, const rt_claims *want)
{
    CHECK(got->key_id == want->key_id);
    CHECK(memcmp(got->session_id, want->session_id, 16) == 0);
    CHECK(got->counter == want->counter);
    CHECK(got->issued_at == want->issued_at);
    CHECK(got->expires_at == want->expires_at);
    CHECK(memcmp(got->subject, want->subject, 16) == 0);
    CHECK(memcmp(got->binding, want->binding, 8) == 0);
    CHECK(got->authenticated == want->authenticated);
}

static void on_token_full(char **f, int n)
{
    rt_claims c, got;
    static struct bytes token;
    uint8_t out[RT_MAX_TOKEN_LEN], form = 99;
    size_t len = 0;
    if (!FIELD_OK(n == 11))
        return;
    memset(&c, 0, sizeof c);
    c.key_id = (uint8_t)u64_at(f, 2);
    fixed_at(f, 3, c.session_id, 16);
    c.counter = u64_at(f, 4);
    c.issued_at = u64_at(f, 5);
    c.expires_at = u64_at(f, 6);
    fixed_at(f, 7, c.subject, 16);
    fixed_at(f, 8, c.binding, 8);
    c.authenticated = bool_at(f, 9);
    bytes_at(f, 10, &token);
    if (bad_field)
        return;
    CHECK_STATUS(rt_token_mint_full(keyring, &c, out, sizeof out, &len), RT_STATUS_OK);
    CHECK_BYTES(out, len, token.b, token.n);
    memset(&got, 0, sizeof got);
    if (CHECK_STATUS(rt_token_parse(token.b, token.n, &form, &got), RT_STATUS_OK)) {
        CHECK(form == RT_FORM_FULL);
        check_claims(&got, &c);
    }
    memset(&got, 0, sizeof got);
    if (CHECK_STATUS(rt_token_verify(keyring, token.b, token.n, 0, &got), RT_STATUS_OK))
        check_claims(&got, &c);
}

static void on_token_compact(char **f, int n)
{
    static struct bytes token;
    uint8_t sid[16], key_id, out[RT_MAX_TOKEN_LEN], form = 99;
    uint64_t counter;
    size_t len = 0;
    rt_claims got;
    if (!FIELD_OK(n == 6))
        return;
    key_id = (uint8_t)u64_at(f, 2);
    fixed_at(f, 3, sid, 16);
    counter = u64_at(f, 4);
    bytes_at(f, 5, &token);
    if (bad_field)
        return;
    CHECK_STATUS(rt_token_mint_compact(keyring, key_id, sid, counter, out, sizeof out, &len),
                 RT_STATUS_OK);
    CHECK_BYTES(out, len, token.b, token.n);
    if (CHECK_STATUS(rt_token_parse(token.b, token.n, &form, &got), RT_STATUS_OK)) {
        CHECK(form == RT_FORM_COMPACT);
        CHECK(got.key_id == key_id && memcmp(got.session_id, sid, 16) == 0);
    }
    if (CHECK_STATUS(rt_token_verify(keyring, token.b, token.n, counter, &got), RT_STATUS_OK))
        CHECK(got.counter == counter && got.key_id == key_id);
    if (counter > 0)
        CHECK_STATUS(rt_token_verify(keyring, token.b, token.n, counter - 1, &got),
                     RT_STATUS_TOKEN_BAD_TAG);
    if (counter < UINT64_MAX)
        CHECK_STATUS(rt_token_verify(keyring, token.b, token.n, counter + 1, &got),
                     RT_STATUS_TOKEN_BAD_TAG);
}

static void on_token_invalid(char **f, int n)
{
    static struct bytes token;
    uint64_t counter = 0;
    int want;
    uint8_t form = 99;
    rt_claims got;
    rt_status st;
    if (!FIELD_OK(n == 5))
        return;
    bytes_at(f, 2, &token);
    if (strcmp(f[3], "-") != 0)
        counter = u64_at(f, 3);
    want = name_at(TOKEN_ERRORS, f, 4);
    if (bad_field)
        return;
    st = rt_token_parse(IN(token), &form, &got);
    if (st == RT_STATUS_OK) {
        /* It parses: the failure is in the key or the tag. */
        if (form == RT_FORM_COMPACT)
            FIELD_OK(strcmp(f[3], "-") != 0);
        st = rt_token_verify(keyring, IN(token), counter, &got);
    }
    CHECK_STATUS(st, (rt_status)want);
}

/* ---- records ------------------------------------------------------------------------------ */

static void on_record_valid(char **f, int n, char **next, int next_n)
{
    static struct bytes hex;
    rt_record fields, decoded_want, got;
    uint8_t out[RT_RECORD_LEN];
    size_t len = 0;
    const rt_record *want = &fields;
    if (!FIELD_OK(n == 3 + RECORD_FIELDS))
        return;
    bytes_at(f, 2, &hex);
    record_at(f, 3, &fields);
    /* A `record_decoded` line of the same test follows when decoding narrows a field. */
    if (next != NULL && strcmp(next[0], "record_decoded") == 0 && strcmp(next[1], f[1]) == 0) {
        if (FIELD_OK(next_n == 2 + RECORD_FIELDS)) {
            record_at(next, 2, &decoded_want);
            want = &decoded_want;
        }
    }
    if (bad_field)
        return;
    CHECK_STATUS(rt_record_encode(&fields, out, sizeof out, &len), RT_STATUS_OK);
    CHECK_BYTES(out, len, hex.b, hex.n);
    memset(&got, 0, sizeof got);
    if (CHECK_STATUS(rt_record_decode(hex.b, hex.n, &got), RT_STATUS_OK))
        check_record(&got, want);
}

static void on_record_invalid(char **f, int n)
{
    static struct bytes hex;
    rt_record got;
    int want;
    if (!FIELD_OK(n == 4))
        return;
    bytes_at(f, 2, &hex);
    want = name_at(RECORD_ERRORS, f, 3);
    if (bad_field)
        return;
    CHECK_STATUS(rt_record_decode(hex.b, hex.n, &got), (rt_status)want);
}

/* ---- engine sequences -------------------------------------------------------------------- */

static void on_initial_record(char **f, int n)
{
    static struct bytes hex;
    rt_record fields, got;
    uint8_t out[RT_RECORD_LEN];
    size_t len = 0;
    if (!FIELD_OK(n == 2 + RECORD_FIELDS))
        return;
    bytes_at(f, 1, &hex);
    record_at(f, 2, &fields);
    if (bad_field || !FIELD_OK(hex.n == RT_RECORD_LEN))
        return;
    memcpy(record, hex.b, RT_RECORD_LEN);
    CHECK_STATUS(rt_record_encode(&fields, out, sizeof out, &len), RT_STATUS_OK);
    CHECK_BYTES(out, len, hex.b, hex.n);
    if (CHECK_STATUS(rt_record_decode(hex.b, hex.n, &got), RT_STATUS_OK))
        check_record(&got, &fields);
}

/* The six detail fields (behind ahead presented current reason expiry) against the outcome. */
static void check_details(const rt_outcome *o, const char *verdict, char **d)
{
    int reuse = strcmp(verdict, "reuse") == 0;
    if (strcmp(d[0], "-") != 0)
        CHECK(strcmp(verdict, "concurrent_in_grace") == 0 && o->steps == u64_at(d, 0));
    else if (strcmp(d[1], "-") != 0)
        CHECK(strcmp(verdict, "store_behind") == 0 && o->steps == u64_at(d, 1));
    else
        CHECK(o->steps == 0);
    if (reuse) {
        if (strcmp(d[2], "-") == 0)
            CHECK(!o->has_presented);
        else
            CHECK(o->has_presented && o->presented == u64_at(d, 2));
        CHECK(o->current == u64_at(d, 3));
    } else {
        CHECK(strcmp(d[2], "-") == 0 && strcmp(d[3], "-") == 0);
        CHECK(!o->has_presented && o->presented == 0 && o->current == 0);
    }
    if (strcmp(verdict, "revoked") == 0)
        CHECK(o->detail == name_at(REVOKE_REASONS, d, 4));
    else if (strcmp(verdict, "malformed") == 0)
        CHECK(o->detail == 1 + (name_at(TOKEN_ERRORS, d, 4) - RT_STATUS_TOKEN_EMPTY));
    else if (strcmp(verdict, "expired") == 0)
        CHECK(o->detail == name_at(EXPIRIES, d, 5));
    else
        CHECK(o->detail == 0 && strcmp(d[4], "-") == 0 && strcmp(d[5], "-") == 0);
}

static void check_rule(const rt_outcome *o, const char *verdict)
{
    const char *got = rt_rule_name(o->rule);
    if (!CHECK(strcmp(got, verdict) == 0))
        fprintf(stderr, "  rule: got %s, want %s\n", got, verdict);
    CHECK(o->proceed == (o->rule < 20)); /* proceeding rules have codes below 20 */
}

static void on_step(char **f, int n)
{
    static struct bytes token, ua, ip, token_out, record_out;
    uint8_t kind, tok[RT_MAX_TOKEN_LEN], rec[RT_RECORD_LEN];
    uint64_t now;
    size_t tn = 0, rn = 0;
    bool save = false;
    rt_outcome o;
    if (!FIELD_OK(n == 20 && steps_left > 0))
        return;
    steps_left--;
    sequence_steps++;
    kind = (uint8_t)name_at(KINDS, f, 3);
    bytes_at(f, 4, &token);
    now = u64_at(f, 5);
    bytes_at(f, 6, &ua);
    bytes_at(f, 7, &ip);
    bytes_at(f, 12, &token_out);
    bytes_at(f, 13, &record_out);
    if (bad_field)
        return;
    memset(&o, 0, sizeof o);
    if (!CHECK_STATUS(rt_decide(keyring, &policy, record, RT_RECORD_LEN, IN(token), kind, now,
                                IN(ua), IN(ip), &o, tok, sizeof tok, &tn, &save, rec, sizeof rec,
                                &rn),
                      RT_STATUS_OK))
        return;
    check_rule(&o, f[8]);
    CHECK(o.clear_cookie == bool_at(f, 9));
    CHECK(o.binding_user_agent == bool_at(f, 10));
    CHECK(o.binding_ip == bool_at(f, 11));
    if (token_out.null)
        CHECK(!o.has_token);
    else if (CHECK(o.has_token))
        CHECK_BYTES(tok, tn, token_out.b, token_out.n);
    if (record_out.null) {
        CHECK(!save);
    } else if (CHECK(save)) {
        CHECK_BYTES(rec, rn, record_out.b, record_out.n);
        if (record_out.n == RT_RECORD_LEN)
            memcpy(record, record_out.b, RT_RECORD_LEN); /* the save succeeded */
    }
    check_details(&o, f[8], f + 14);
}

/* ---- façade sequences -------------------------------------------------------------------- */

static int ensure_sessions(void)
{
    if (sessions == NULL && !sessions_broken) {
        if (!CHECK_STATUS(rt_sessions_new(keyring, &policy, &sessions), RT_STATUS_OK))
            sessions_broken = 1;
    }
    return sessions != NULL;
}

/* The seven view fields (session_id log_id subject authenticated counter parent expires_at). */
static void check_view(const rt_outcome *o, char **v)
{
    uint8_t sid[16], subject[16];
    static struct bytes parent;
    fixed_at(v, 0, sid, 16);
    fixed_at(v, 2, subject, 16);
    bytes_at(v, 5, &parent);
    if (bad_field)
        return;
    CHECK(o->has_session && memcmp(o->session_id, sid, 16) == 0);
    CHECK(strcmp(o->log_id, v[1]) == 0);
    CHECK(memcmp(o->subject, subject, 16) == 0);
    CHECK(o->authenticated == bool_at(v, 3));
    CHECK(o->counter == u64_at(v, 4));
    if (parent.null)
        CHECK(!o->has_parent);
    else
        CHECK(o->has_parent && parent.n == 16 && memcmp(o->parent, parent.b, 16) == 0);
    CHECK(o->expires_at == u64_at(v, 6));
}

static void on_request(char **f, int n)
{
    static struct bytes cookie, ua, ip, new_id, token_out;
    uint8_t kind, tok[RT_MAX_TOKEN_LEN];
    uint64_t now;
    size_t tn = 0;
    rt_outcome o;
    int proceed;
    if (!FIELD_OK(n == 30) || !ensure_sessions())
        return;
    sessions_ops++;
    bytes_at(f, 3, &cookie);
    kind = (uint8_t)name_at(KINDS, f, 4);
    now = u64_at(f, 5);
    bytes_at(f, 6, &ua);
    bytes_at(f, 7, &ip);
    bytes_at(f, 8, &new_id);
    FIELD_OK(strcmp(f[9], "proceed") == 0 || strcmp(f[9], "reject") == 0);
    proceed = strcmp(f[9], "proceed") == 0;
    bytes_at(f, 14, &token_out);
    if (bad_field || !FIELD_OK(new_id.null || new_id.n == 16))
        return;
    memset(&o, 0, sizeof o);
    if (!CHECK_STATUS(rt_sessions_handle(sessions, IN(cookie), kind, now, IN(ua), IN(ip),
                                         new_id.null ? NULL : new_id.b, &o, tok, sizeof tok, &tn),
                      RT_STATUS_OK))
        return;
    CHECK(o.proceed == proceed);
    check_rule(&o, f[10]);
    CHECK(o.clear_cookie == bool_at(f, 11));
    CHECK(o.binding_user_agent == bool_at(f, 12));
    CHECK(o.binding_ip == bool_at(f, 13));
    if (token_out.null)
        CHECK(!o.has_token);
    else if (CHECK(o.has_token))
        CHECK_BYTES(tok, tn, token_out.b, token_out.n);
    check_details(&o, f[10], f + 15);
    if (proceed) {
        check_view(&o, f + 21);
        CHECK(strcmp(f[28], "-") == 0 && strcmp(f[29], "-") == 0);
    } else {
        CHECK(o.at_ms == u64_at(f, 29));
        if (strcmp(f[28], "-") == 0)
            CHECK(!o.has_session);
        else
            CHECK(o.has_session && strcmp(o.log_id, f[28]) == 0);
    }
}

static void on_login(char **f, int n)
{
    static struct bytes cookie, ua, ip, token_out;
    uint8_t new_id[16], subject[16], tok[RT_MAX_TOKEN_LEN];
    uint64_t now;
    size_t tn = 0;
    rt_outcome o;
    rt_status st;
    if (!FIELD_OK(n == 18) || !ensure_sessions())
        return;
    sessions_ops++;
    bytes_at(f, 3, &cookie);
    fixed_at(f, 4, new_id, 16);
    fixed_at(f, 5, subject, 16);
    now = u64_at(f, 6);
    bytes_at(f, 7, &ua);
    bytes_at(f, 8, &ip);
    bytes_at(f, 10, &token_out);
    if (bad_field)
        return;
    memset(&o, 0, sizeof o);
    st = rt_sessions_login(sessions, IN(cookie), new_id, subject, now, IN(ua), IN(ip), &o, tok,
                           sizeof tok, &tn);
    if (strcmp(f[9], "-") != 0) {
        CHECK_STATUS(st, (rt_status)name_at(LOGIN_ERRORS, f, 9));
        return;
    }
    if (!CHECK_STATUS(st, RT_STATUS_OK))
        return;
    CHECK(o.proceed && o.has_token);
    CHECK_BYTES(tok, tn, token_out.b, token_out.n);
    check_view(&o, f + 11);
}

static void on_logout(char **f, int n)
{
    static struct bytes cookie;
    bool found = false;
    char log_id[RT_LOG_ID_LEN + 1];
    if (!FIELD_OK(n == 6) || !ensure_sessions())
        return;
    sessions_ops++;
    bytes_at(f, 3, &cookie);
    if (bad_field)
        return;
    if (!CHECK_STATUS(rt_sessions_logout(sessions, IN(cookie), u64_at(f, 4), &found, log_id),
                      RT_STATUS_OK))
        return;
    if (strcmp(f[5], "-") == 0)
        CHECK(!found);
    else
        CHECK(found && strcmp(log_id, f[5]) == 0);
}

static void on_revoke_all(char **f, int n)
{
    uint8_t subject[16];
    size_t count = 0;
    if (!FIELD_OK(n == 6) || !ensure_sessions())
        return;
    sessions_ops++;
    fixed_at(f, 3, subject, 16);
    if (bad_field)
        return;
    if (CHECK_STATUS(rt_sessions_revoke_all(sessions, subject, u64_at(f, 4), &count),
                     RT_STATUS_OK))
        CHECK((uint64_t)count == u64_at(f, 5));
}

/* ---- the file ------------------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL, *grown;
    size_t cap = 0, n = 0, got;
    if (fp == NULL)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap == 0 ? 65536 : cap * 2;
            grown = (char *)realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + n, 1, 4096, fp);
        n += got;
        if (got < 4096)
            break;
    }
    fclose(fp);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Splits `line` in place on single spaces. */
static int split(char *line, char **f)
{
    int n = 0;
    char *p = line;
    while (*p != '\0' && n < MAX_FIELDS) {
        f[n++] = p;
        while (*p != '\0' && *p != ' ')
            p++;
        if (*p == ' ')
            *p++ = '\0';
    }
    return n;
}

/* The next record line after `*pos` (comments and blank lines skipped), split into `f`. */
static int next_line(char **pos, char **f, int *n)
{
    char *line, *nl;
    for (;;) {
        if (**pos == '\0')
            return 0;
        line = *pos;
        nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
            *pos = nl + 1;
        } else {
            *pos = line + strlen(line);
        }
        lines_read++;
        if (line[0] == '\0' || line[0] == '#')
            continue;
        *n = split(line, f);
        return 1;
    }
}

static void start_sequence_or_sessions(void)
{
    rt_sessions_free(sessions);
    sessions = NULL;
    sessions_broken = 0;
    steps_left = 0;
}

static void dispatch(char **f, int n, char **next, int next_n)
{
    const char *kind = f[0];
    bad_field = 0;
    if (n >= 2)
        WHERE("%s tcId %s%s%s", kind, f[1], n >= 3 && strcmp(kind, "keyring") != 0 ? " #" : "",
              n >= 3 && strcmp(kind, "keyring") != 0 ? f[2] : "");
    else
        WHERE("%s", kind);
    if (strcmp(kind, "vectors") == 0) {
        if (FIELD_OK(n == 4 && strcmp(f[1], "rolltoken-v1") == 0)) {
            want_cases = (unsigned long)u64_at(f, 3);
            saw_header = 1;
        }
    } else if (strcmp(kind, "keyring") == 0) {
        on_keyring(f, n);
    } else if (strcmp(kind, "policy") == 0) {
        on_policy(f, n);
    } else if (strcmp(kind, "key_compact_tag") == 0) {
        cases++, keys_cases++;
        on_key_compact_tag(f, n);
    } else if (strcmp(kind, "key_binding") == 0) {
        cases++, keys_cases++;
        on_key_binding(f, n);
    } else if (strcmp(kind, "key_log_id") == 0) {
        cases++, keys_cases++;
        on_key_log_id(f, n);
    } else if (strcmp(kind, "token_full") == 0) {
        cases++, tokens_cases++;
        on_token_full(f, n);
    } else if (strcmp(kind, "token_compact") == 0) {
        cases++, tokens_cases++;
        on_token_compact(f, n);
    } else if (strcmp(kind, "token_invalid") == 0) {
        cases++, tokens_cases++;
        on_token_invalid(f, n);
    } else if (strcmp(kind, "record_valid") == 0) {
        cases++, records_cases++;
        on_record_valid(f, n, next, next_n);
    } else if (strcmp(kind, "record_decoded") == 0) {
        /* read together with its record_valid line */
    } else if (strcmp(kind, "record_invalid") == 0) {
        cases++, records_cases++;
        on_record_invalid(f, n);
    } else if (strcmp(kind, "sequence") == 0) {
        CHECK(steps_left == 0); /* the previous sequence had all its steps */
        start_sequence_or_sessions();
        cases++, sequence_cases++;
        if (FIELD_OK(n == 3))
            steps_left = u64_at(f, 2);
    } else if (strcmp(kind, "initial_record") == 0) {
        on_initial_record(f, n);
    } else if (strcmp(kind, "step") == 0) {
        on_step(f, n);
    } else if (strcmp(kind, "sessions") == 0) {
        CHECK(steps_left == 0);
        start_sequence_or_sessions();
        cases++, sessions_cases++;
        if (FIELD_OK(n == 3))
            steps_left = u64_at(f, 2);
    } else if (strcmp(kind, "request") == 0 || strcmp(kind, "login") == 0 ||
               strcmp(kind, "logout") == 0 || strcmp(kind, "revoke_all") == 0) {
        if (FIELD_OK(steps_left > 0))
            steps_left--;
        if (kind[0] == 'r' && kind[2] == 'q')
            on_request(f, n);
        else if (kind[0] == 'l' && kind[3] == 'i')
            on_login(f, n);
        else if (kind[0] == 'l')
            on_logout(f, n);
        else
            on_revoke_all(f, n);
    } else if (strcmp(kind, "end") == 0) {
        CHECK(steps_left == 0);
        saw_end = 1;
    } else {
        bad_field = 1;
        CHECK(kind == NULL); /* an unknown record type: teach this checker */
    }
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "vectors/rolltoken-v1.txt";
    size_t len = 0;
    char *text = read_file(path, &len), *pos;
    char *a[MAX_FIELDS], *b[MAX_FIELDS];
    char **cur = a, **next = b, **swap;
    int n = 0, next_n = 0, have, have_next;

    WHERE("%s", path);
    if (!CHECK(text != NULL)) {
        fprintf(stderr, "cannot read %s\n", path);
        return harness_finish("test_vectors");
    }
    pos = text;
    have = next_line(&pos, cur, &n);
    while (have) {
        have_next = next_line(&pos, next, &next_n);
        dispatch(cur, n, have_next ? next : NULL, next_n);
        swap = cur, cur = next, next = swap;
        n = next_n;
        have = have_next;
    }
    WHERE("end of %s", path);
    CHECK(saw_header && saw_end);
    CHECK(cases == want_cases);
    CHECK(keys_cases > 0 && tokens_cases > 0 && records_cases > 0);
    CHECK(sequence_cases > 0 && sequence_steps > 0 && sessions_cases > 0 && sessions_ops > 0);
    printf("vectors: keys %lu, tokens %lu, records %lu, sequences %lu (%lu steps), "
           "sessions %lu (%lu ops): %lu of %lu cases\n",
           keys_cases, tokens_cases, records_cases, sequence_cases, sequence_steps,
           sessions_cases, sessions_ops, cases, want_cases);
    rt_sessions_free(sessions);
    rt_keyring_free(keyring);
    free(text);
    return harness_finish("test_vectors");
}
