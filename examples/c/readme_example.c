#include <stdio.h>
#include "rolltoken.h"

int main(void) {
    uint8_t id = 1, secret[RT_KEY_LEN] = {7}, sid[16] = {1}; /* secret and sid: CSPRNG bytes in real life */
    uint8_t token[RT_MAX_TOKEN_LEN], ua[] = "Mozilla/5.0", ip[] = "203.0.113.7";
    size_t len; rt_keyring *keys; rt_sessions *s = NULL; rt_policy policy; rt_outcome out;
    if (rt_policy_default(&policy) || rt_keyring_new(&id, secret, 1, id, &keys)) return 1;
    rt_status st = rt_sessions_new(keys, &policy, &s); /* s keeps its own keyring reference */
    rt_keyring_free(keys);
    if (st == RT_STATUS_OK) st = rt_sessions_handle(s, NULL, 0, RT_KIND_ADVANCE, 1700000000000ULL, ua, sizeof ua - 1,
                                                     ip, sizeof ip - 1, sid, &out, token, sizeof token, &len);
    if (st == RT_STATUS_OK) printf("%s, log id %s: send the %zu-byte token as the cookie\n", rt_rule_name(out.rule), out.log_id, len);
    rt_sessions_free(s);
    return st != RT_STATUS_OK;
}
