/*
 * Vectors rolltoken did not write, through the C ABI: RFC 4231 and Project Wycheproof's
 * HMAC-SHA256 cases from vectors/hmac-sha256-external.txt (the line form of
 * hmac-sha256-external.json; format: vectors/README.md, "External HMAC vectors"), run through
 * rt_hmac_sha256, the keyring's own HMAC, with each case's 32-byte keyringKey (the key with
 * the same HMAC, RFC 2104 section 2). Valid cases must be accepted, invalid ones rejected;
 * a 128-bit tag is compared with the leftmost 16 bytes.
 *
 * Then the bit-flip sweep: every bit of a valid full and a valid compact token, in the text
 * and in the decoded body (re-encoded), through rt_token_verify: none may be accepted.
 *
 * Usage: test_external_vectors [path to hmac-sha256-external.txt]. Plain C99.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_FIELDS 16
#define MAX_BYTES 2048

/* ---- fields ----------------------------------------------------------------------------- */

static int hexdigit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Hex (`.` empty) into `out`; returns the length, or -1 when it does not parse or fit. */
static long parse_hex(const char *f, uint8_t *out, size_t cap)
{
    size_t len = strlen(f), i;
    if (strcmp(f, ".") == 0)
        return 0;
    if (len % 2 != 0 || len / 2 > cap)
        return -1;
    for (i = 0; i < len / 2; i++) {
        int hi = hexdigit(f[2 * i]), lo = hexdigit(f[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi * 16 + lo);
    }
    return (long)(len / 2);
}

static char *read_file(const char *path)
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

/* ---- the external vectors ----------------------------------------------------------------- */

static unsigned long want_cases, cases, skipped, truncated;
static unsigned long rfc_total, rfc_passed, wp_total, wp_valid, wp_invalid;
static unsigned long form_as_is, form_zero_padded, form_hashed;
static int saw_header, saw_end;

/* mac tcId source sourceId result keySize tagSize keyForm key keyringKey msg tag */
static void on_mac(char **f, int n)
{
    static uint8_t key[MAX_BYTES], kk[MAX_BYTES], msg[MAX_BYTES], tag[MAX_BYTES];
    uint8_t out[32];
    long key_len, kk_len, msg_len, tag_len;
    unsigned long key_size, tag_size;
    int valid, rfc, accepted;
    cases++;
    if (!CHECK(n == 12))
        return;
    rfc = strcmp(f[2], "rfc4231") == 0;
    if (!CHECK(rfc || strcmp(f[2], "wycheproof") == 0))
        return;
    if (rfc)
        rfc_total++;
    else
        wp_total++;
    valid = strcmp(f[4], "valid") == 0;
    if (!CHECK(valid || strcmp(f[4], "invalid") == 0))
        return;
    key_size = strtoul(f[5], NULL, 10);
    tag_size = strtoul(f[6], NULL, 10);
    key_len = parse_hex(f[8], key, sizeof key);
    msg_len = parse_hex(f[10], msg, sizeof msg);
    tag_len = parse_hex(f[11], tag, sizeof tag);
    if (!CHECK(key_len >= 0 && msg_len >= 0 && tag_len > 0 && tag_len <= 32))
        return;
    CHECK((unsigned long)key_len * 8 == key_size);
    if (!CHECK((unsigned long)tag_len * 8 == tag_size))
        return;
    if (strcmp(f[9], "-") == 0) {
        /* A key of 33 to 64 bytes has no 32-byte key with the same HMAC. */
        CHECK(strcmp(f[7], "none") == 0);
        skipped++;
        fprintf(stderr, "skipped: tcId %s (a %ld-byte key has no 32-byte form)\n", f[1], key_len);
        return;
    }
    kk_len = parse_hex(f[9], kk, sizeof kk);
    if (!CHECK(kk_len == RT_KEY_LEN))
        return;
    if (strcmp(f[7], "as_is") == 0) {
        form_as_is++;
        CHECK(key_len == RT_KEY_LEN && memcmp(key, kk, RT_KEY_LEN) == 0);
    } else if (strcmp(f[7], "zero_padded") == 0) {
        long i;
        form_zero_padded++;
        CHECK(key_len < RT_KEY_LEN && memcmp(key, kk, (size_t)key_len) == 0);
        for (i = key_len; i < RT_KEY_LEN; i++)
            CHECK(kk[i] == 0);
    } else if (CHECK(strcmp(f[7], "hashed") == 0)) {
        form_hashed++;
        CHECK(key_len > 64);
    }
    if (tag_len < 32)
        truncated++;
    /* An empty message goes in as NULL with length 0, as the ABI allows. */
    memset(out, 0, sizeof out);
    if (!CHECK_STATUS(rt_hmac_sha256(kk, msg_len == 0 ? NULL : msg, (size_t)msg_len, out),
                      RT_STATUS_OK))
        return;
    accepted = memcmp(out, tag, (size_t)tag_len) == 0;
    if (!CHECK(accepted == valid))
        return;
    if (rfc)
        rfc_passed++;
    else if (valid)
        wp_valid++;
    else
        wp_invalid++;
}

static void external_vectors(const char *path)
{
    char *text = read_file(path), *pos, *nl, *f[MAX_FIELDS];
    int n;
    WHERE("%s", path);
    if (!CHECK(text != NULL)) {
        fprintf(stderr, "cannot read %s\n", path);
        return;
    }
    for (pos = text; *pos != '\0';) {
        char *line = pos;
        nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
            pos = nl + 1;
        } else {
            pos = line + strlen(line);
        }
        if (line[0] == '\0' || line[0] == '#')
            continue;
        n = split(line, f);
        if (strcmp(f[0], "vectors") == 0) {
            if (CHECK(n == 4 && strcmp(f[1], "hmac-sha256-external") == 0)) {
                want_cases = strtoul(f[3], NULL, 10);
                saw_header = 1;
            }
        } else if (strcmp(f[0], "mac") == 0) {
            WHERE("mac tcId %s (%s %s)", n > 1 ? f[1] : "?", n > 2 ? f[2] : "?",
                  n > 3 ? f[3] : "?");
            on_mac(f, n);
        } else if (strcmp(f[0], "end") == 0) {
            saw_end = 1;
        } else {
            CHECK(f[0] == NULL); /* an unknown record type: teach this checker */
        }
    }
    free(text);
    WHERE("end of %s", path);
    CHECK(saw_header && saw_end);
    CHECK(want_cases > 0 && cases == want_cases);
    CHECK(skipped == 0);
    CHECK(rfc_total == 7 && rfc_passed == rfc_total);
    CHECK(wp_valid + wp_invalid == wp_total && wp_invalid > 0);
    printf("external vectors: %lu passed, %lu skipped (rfc4231 %lu/%lu, wycheproof %lu/%lu: %lu "
           "valid accepted, %lu invalid rejected; %lu with 128-bit tags)\n",
           rfc_passed + wp_valid + wp_invalid, skipped, rfc_passed, rfc_total,
           wp_valid + wp_invalid, wp_total, wp_valid, wp_invalid, truncated);
    printf("external vectors: through rt_hmac_sha256 with 32-byte keys: %lu as-is, %lu "
           "zero-padded, %lu hashed (RFC 2104 equivalent keys)\n",
           form_as_is, form_zero_padded, form_hashed);
}

static void hmac_bad_input(void)
{
    uint8_t key[RT_KEY_LEN] = {0}, out[32], empty[32];
    WHERE("rt_hmac_sha256 bad input");
    CHECK_STATUS(rt_hmac_sha256(NULL, STR("x"), out), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_hmac_sha256(key, NULL, 1, out), RT_STATUS_NULL_PARAMETER);
    CHECK_STATUS(rt_hmac_sha256(key, STR("x"), NULL), RT_STATUS_NULL_PARAMETER);
    /* NULL with length 0 and a non-NULL empty message are the same message. */
    CHECK_STATUS(rt_hmac_sha256(key, NULL, 0, out), RT_STATUS_OK);
    CHECK_STATUS(rt_hmac_sha256(key, key, 0, empty), RT_STATUS_OK);
    CHECK_BYTES(out, 32, empty, 32);
}

/* ---- the bit-flip sweep ------------------------------------------------------------------ */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(uint8_t c)
{
    const char *p = c == 0 ? NULL : strchr(B64URL, c);
    return p == NULL ? -1 : (int)(p - B64URL);
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

/* Canonical unpadded base64url (unused bits zero); returns the encoded length. */
static size_t b64url_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = (uint8_t)B64URL[(acc >> bits) & 63];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        out[o++] = (uint8_t)B64URL[(acc << (6 - bits)) & 63];
    return o;
}

static const struct {
    rt_status status;
    const char *name;
} REFUSALS[] = {
    /* in the order of their names, as every surface prints them */
    {RT_STATUS_TOKEN_BAD_BASE64, "bad_base64"},
    {RT_STATUS_TOKEN_BAD_FLAGS, "bad_flags"},
    {RT_STATUS_TOKEN_BAD_TAG, "bad_tag"},
    {RT_STATUS_TOKEN_EMPTY, "empty"},
    {RT_STATUS_TOKEN_TOO_LONG, "too_long"},
    {RT_STATUS_TOKEN_UNKNOWN_KEY, "unknown_key"},
    {RT_STATUS_TOKEN_UNSUPPORTED_VERSION, "unsupported_version"},
    {RT_STATUS_TOKEN_WRONG_LENGTH, "wrong_length"},
    {RT_STATUS_TOKEN_WRONG_PREFIX, "wrong_prefix"},
};
#define N_REFUSALS (sizeof REFUSALS / sizeof REFUSALS[0])
static unsigned long refusals[N_REFUSALS];
static unsigned long flips, refused, accepted_flips;

#define SWEEP_COUNTER 7

/* One flipped token through rt_token_verify (a compact one against SWEEP_COUNTER). */
static void verify_flipped(const rt_keyring *ring, const uint8_t *text, size_t len)
{
    rt_claims claims;
    rt_status st = rt_token_verify(ring, text, len, SWEEP_COUNTER, &claims);
    size_t i;
    flips++;
    if (st == RT_STATUS_OK) {
        accepted_flips++;
        CHECK(st != RT_STATUS_OK);
        return;
    }
    for (i = 0; i < N_REFUSALS; i++)
        if (REFUSALS[i].status == st) {
            refusals[i]++;
            refused++;
            return;
        }
    CHECK_STATUS(st, RT_STATUS_TOKEN_BAD_TAG); /* a refusal that is not a token error */
}

static void sweep_one(const rt_keyring *ring, const char *name, const uint8_t *t, size_t len)
{
    uint8_t m[RT_MAX_TOKEN_LEN], body[96], b[96];
    rt_claims claims;
    size_t i, body_len, before = flips;
    int bit;
    WHERE("bit-flip sweep, %s token", name);
    if (!CHECK_STATUS(rt_token_verify(ring, t, len, SWEEP_COUNTER, &claims), RT_STATUS_OK))
        return;
    /* 1. Every bit of the text. */
    for (i = 0; i < len; i++)
        for (bit = 0; bit < 8; bit++) {
            memcpy(m, t, len);
            m[i] ^= (uint8_t)(1u << bit);
            verify_flipped(ring, m, len);
        }
    CHECK(flips - before == len * 8);
    /* 2. Every bit of the decoded body, re-encoded canonically. */
    body_len = b64url_decode(t + 5, len - 5, body, sizeof body);
    if (!CHECK(body_len > 0))
        return;
    before = flips;
    for (i = 0; i < body_len; i++)
        for (bit = 0; bit < 8; bit++) {
            size_t n;
            memcpy(b, body, body_len);
            b[i] ^= (uint8_t)(1u << bit);
            memcpy(m, t, 5);
            n = b64url_encode(b, body_len, m + 5);
            CHECK(n == len - 5);
            verify_flipped(ring, m, len);
        }
    CHECK(flips - before == body_len * 8);
    printf("bit-flip sweep: %s %lu chars: %lu text flips, %lu body bytes: %lu body flips\n", name,
           (unsigned long)len, (unsigned long)len * 8, (unsigned long)body_len,
           (unsigned long)body_len * 8);
}

static void bit_flip_sweep(void)
{
    /* The same inputs on every surface: keys 1 and 3 (flipping bit 1 of the key id names a
     * key the ring holds), a full and a compact token of key 1. */
    const uint8_t ids[2] = {1, 3};
    uint8_t secrets[2 * RT_KEY_LEN], full[RT_MAX_TOKEN_LEN], compact[RT_MAX_TOKEN_LEN];
    rt_keyring *ring = NULL;
    rt_claims c;
    size_t full_len = 0, compact_len = 0, i;
    const char *sep;
    WHERE("bit-flip sweep setup");
    for (i = 0; i < 2 * RT_KEY_LEN; i++)
        secrets[i] = (uint8_t)i; /* key 1: 00..1f, key 3: 20..3f */
    if (!CHECK_STATUS(rt_keyring_new(ids, secrets, 2, 1, &ring), RT_STATUS_OK))
        return;
    memset(&c, 0, sizeof c);
    c.key_id = 1;
    for (i = 0; i < 16; i++)
        c.session_id[i] = (uint8_t)(0x10 + i);
    c.counter = SWEEP_COUNTER;
    c.issued_at = 1700000000000ull;
    c.expires_at = 1700086400000ull;
    c.subject[15] = 42;
    for (i = 0; i < 8; i++)
        c.binding[i] = (uint8_t)(i + 1);
    c.authenticated = true;
    if (CHECK_STATUS(rt_token_mint_full(ring, &c, full, sizeof full, &full_len), RT_STATUS_OK) &&
        CHECK_STATUS(rt_token_mint_compact(ring, 1, c.session_id, SWEEP_COUNTER, compact,
                                           sizeof compact, &compact_len),
                     RT_STATUS_OK)) {
        sweep_one(ring, "full", full, full_len);
        sweep_one(ring, "compact", compact, compact_len);
    }
    rt_keyring_free(ring);
    WHERE("bit-flip sweep");
    CHECK(accepted_flips == 0);
    CHECK(refused == flips);
    CHECK(flips == (115 + 49) * 8 + (82 + 33) * 8);
    printf("bit-flip sweep: %lu flips, %lu refused, %lu accepted\n", flips, refused,
           accepted_flips);
    printf("bit-flip sweep refusals:");
    for (i = 0, sep = " "; i < N_REFUSALS; i++)
        if (refusals[i] > 0) {
            printf("%s%s %lu", sep, REFUSALS[i].name, refusals[i]);
            sep = ", ";
        }
    printf("\n");
}

int main(int argc, char **argv)
{
    external_vectors(argc > 1 ? argv[1] : "vectors/hmac-sha256-external.txt");
    hmac_bad_input();
    bit_flip_sweep();
    return harness_finish("test_external_vectors");
}
