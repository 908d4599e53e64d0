#include <stdio.h>
#include "rolltoken.h"

int main(void) {
    static const uint8_t key_id = 1, secret[RT_KEY_LEN] = {7}; /* 32 random bytes in real life */
    static const uint8_t new_id[16] = {1}, ua[] = "Mozilla/5.0", ip[] = "203.0.113.7";
    uint8_t token[RT_MAX_TOKEN_LEN], cookie[RT_MAX_SET_COOKIE_LEN];
    size_t token_len, cookie_len;
    rt_keyring *keys; rt_sessions *sessions; rt_outcome out;
    rt_policy policy; rt_cookie_config config;
    rt_policy_default(&policy);
    rt_cookie_config_default(&config);
    if (rt_keyring_new(&key_id, secret, 1, key_id, &keys) != RT_STATUS_OK) return 1;
    rt_status st = rt_sessions_new(keys, &policy, &sessions);
    rt_keyring_free(keys); /* the sessions handle keeps its own reference */
    if (st != RT_STATUS_OK) return 1;
    /* A first page load, no cookie yet; new_id: 16 fresh CSPRNG bytes per request. */
    st = rt_sessions_handle(sessions, NULL, 0, RT_KIND_ADVANCE, 1700000000000ULL, ua, sizeof ua - 1,
                            ip, sizeof ip - 1, new_id, &out, token, sizeof token, &token_len);
    if (st == RT_STATUS_OK && out.has_token
        && rt_set_cookie_write(&config, token, token_len, out.max_age_secs, cookie, sizeof cookie,
                               &cookie_len) == RT_STATUS_OK)
        printf("%s -> Set-Cookie: %.*s\n", rt_rule_name(out.rule), (int)cookie_len, (char *)cookie);
    rt_sessions_free(sessions);
    return 0;
}
