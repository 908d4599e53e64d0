/*
 * A minimal embedded gateway over rolltoken: a single-threaded raw HTTP/1.1 server on
 * 127.0.0.1 that reads each request's Cookie header, decides it with rolltoken's built-in
 * fixed-capacity memory store, and answers with Set-Cookie. After startup nothing is
 * allocated: requests are parsed into fixed stack buffers and the library writes into them.
 *
 *   GET /        a page load   (RT_KIND_ADVANCE: the token rolls)
 *   GET /api/... an API call   (RT_KIND_READ: verified, not rolled)
 *   POST /login  logs in the demo subject 1001 (the visitor's session becomes the parent)
 *   POST /logout ends the session for every holder
 *
 * Usage: gateway PORT [MAX_REQUESTS [GRACE_MS]]   (PORT 0: any free port, printed on stdout;
 * MAX_REQUESTS 0: no limit; SIGTERM or SIGINT stops it.) One connection at a time, one
 * request per connection (Connection: close).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "rolltoken.h"

#define MAX_REQUEST 16384 /* request line + headers; a Cookie header may hold 8192 bytes */

static volatile sig_atomic_t stopping;
static int urandom_fd = -1;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* 16 bytes from the OS CSPRNG (a new session id). */
static int random_id(uint8_t id[RT_SESSION_ID_LEN])
{
    size_t got = 0;
    while (got < RT_SESSION_ID_LEN) {
        ssize_t n = read(urandom_fd, id + got, RT_SESSION_ID_LEN - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* The parts of a request the gateway looks at, pointing into the request buffer. */
struct request {
    const char *method, *path, *cookie, *user_agent;
    size_t cookie_len, user_agent_len, content_length;
    int cookie_headers;
};

/* Parses the request line and headers in place; returns the header block's length or -1. */
static int parse_request(char *buf, struct request *r)
{
    char *end = strstr(buf, "\r\n\r\n"), *line, *next, *colon, *sp; /* buf is NUL-terminated */
    if (end == NULL)
        return -1;
    *end = '\0';
    memset(r, 0, sizeof *r);
    r->cookie = r->user_agent = "";
    line = buf;
    next = strstr(line, "\r\n");
    if (next != NULL)
        *next = '\0';
    r->method = line; /* METHOD SP PATH SP VERSION */
    if ((sp = strchr(line, ' ')) == NULL)
        return -1;
    *sp = '\0', r->path = sp + 1;
    if ((sp = strchr(sp + 1, ' ')) == NULL || strncmp(sp + 1, "HTTP/1.", 7) != 0)
        return -1;
    *sp = '\0';
    while (next != NULL) {
        line = next + 2;
        next = strstr(line, "\r\n");
        if (next != NULL)
            *next = '\0';
        colon = strchr(line, ':');
        if (colon == NULL)
            return -1;
        *colon = '\0';
        for (colon++; *colon == ' ' || *colon == '\t'; colon++)
            ;
        if (strcasecmp(line, "Cookie") == 0) {
            r->cookie = colon, r->cookie_len = strlen(colon), r->cookie_headers++;
        } else if (strcasecmp(line, "User-Agent") == 0) {
            r->user_agent = colon, r->user_agent_len = strlen(colon);
        } else if (strcasecmp(line, "Content-Length") == 0) {
            r->content_length = (size_t)strtoul(colon, NULL, 10);
        }
    }
    return (int)(end - buf) + 4;
}

/* Answer and leave serve(). */
#define RESPOND(...)                                                                               \
    do {                                                                                           \
        respond(__VA_ARGS__);                                                                      \
        return;                                                                                    \
    } while (0)

/* Writes the whole response: status, an optional Set-Cookie, a text body. */
static void respond(int fd, const char *status, const uint8_t *set_cookie, size_t set_cookie_len,
                    const char *body)
{
    char head[RT_MAX_SET_COOKIE_LEN + 256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %u\r\nCache-Control: no-store\r\nConnection: close\r\n",
                     status, (unsigned)strlen(body));
    if (set_cookie_len > 0 && n > 0 && (size_t)n + set_cookie_len + 20 < sizeof head)
        n += snprintf(head + n, sizeof head - (size_t)n, "Set-Cookie: %.*s\r\n",
                      (int)set_cookie_len, (const char *)set_cookie);
    if (n > 0 && (size_t)n + 2 < sizeof head)
        n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    if (n > 0 && write(fd, head, (size_t)n) == n)
        (void)!write(fd, body, strlen(body));
}

static void serve(int fd, const rt_sessions *sessions, const rt_cookie_config *cookies,
                  const char *ip)
{
    char buf[MAX_REQUEST + 1], body[160];
    uint8_t token[RT_MAX_TOKEN_LEN], set_cookie[RT_MAX_SET_COOKIE_LEN], new_id[16];
    uint8_t subject[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xe9}; /* demo: 1001 */
    size_t len = 0, token_len = 0, set_cookie_len = 0, value_len = 0;
    const uint8_t *value = NULL;
    bool found = false;
    struct request r;
    rt_outcome out;
    rt_status st;
    int head = -1;

    while (len < MAX_REQUEST && head < 0) {
        ssize_t n = read(fd, buf + len, MAX_REQUEST - len);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        head = parse_request(buf, &r);
    }
    if (head < 0)
        RESPOND(fd, "431 Request Header Fields Too Large", NULL, 0, "bad request\n");
    /* Drain a small body (POST) so closing the socket does not reset the response. */
    while (r.content_length > len - (size_t)head && r.content_length <= 4096) {
        ssize_t n = read(fd, buf + head, MAX_REQUEST - (size_t)head);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    if (r.cookie_headers > 1)
        RESPOND(fd, "400 Bad Request", NULL, 0, "one Cookie header, please\n");
    st = rt_cookie_find(cookies, (const uint8_t *)r.cookie, r.cookie_len, &found, &value,
                        &value_len);
    if (st != RT_STATUS_OK) { /* e.g. RT_STATUS_COOKIE_DUPLICATE: a tossed cookie; refuse */
        fprintf(stderr, "%s %s -> cookie refused: %s\n", r.method, r.path, rt_status_str(st));
        RESPOND(fd, "400 Bad Request", NULL, 0, "cookie refused\n");
    }
    if (!found)
        value = NULL, value_len = 0;
    if (random_id(new_id) != 0)
        RESPOND(fd, "500 Internal Server Error", NULL, 0, "no randomness\n");

    if (strcmp(r.method, "POST") == 0 && strcmp(r.path, "/login") == 0) {
        st = rt_sessions_login(sessions, value, value_len, new_id, subject, now_ms(),
                               (const uint8_t *)r.user_agent, r.user_agent_len,
                               (const uint8_t *)ip, strlen(ip), &out, token, sizeof token,
                               &token_len);
    } else if (strcmp(r.method, "POST") == 0 && strcmp(r.path, "/logout") == 0) {
        char log_id[RT_LOG_ID_LEN + 1];
        st = rt_sessions_logout(sessions, value, value_len, now_ms(), &found, log_id);
        if (st == RT_STATUS_OK)
            st = rt_clear_cookie_write(cookies, set_cookie, sizeof set_cookie, &set_cookie_len);
        snprintf(body, sizeof body, "logged out session %s\n", found ? log_id : "-");
        if (st != RT_STATUS_OK)
            RESPOND(fd, "500 Internal Server Error", NULL, 0, rt_status_str(st));
        fprintf(stderr, "%s %s -> logout %s\n", r.method, r.path, found ? log_id : "-");
        RESPOND(fd, "200 OK", set_cookie, set_cookie_len, body);
    } else if (strcmp(r.method, "GET") == 0 &&
               (strcmp(r.path, "/") == 0 || strncmp(r.path, "/api/", 5) == 0)) {
        uint8_t kind = strcmp(r.path, "/") == 0 ? RT_KIND_ADVANCE : RT_KIND_READ;
        st = rt_sessions_handle(sessions, value, value_len, kind, now_ms(),
                                (const uint8_t *)r.user_agent, r.user_agent_len,
                                (const uint8_t *)ip, strlen(ip), new_id, &out, token,
                                sizeof token, &token_len);
    } else {
        RESPOND(fd, "404 Not Found", NULL, 0, "not found\n");
    }
    if (st != RT_STATUS_OK) {
        fprintf(stderr, "%s %s -> error: %s\n", r.method, r.path, rt_status_str(st));
        RESPOND(fd, "500 Internal Server Error", NULL, 0, "error\n");
    }
    /* Log the log id, never the token. (A refusal's outcome has no log id yet: "-".) */
    fprintf(stderr, "%s %s -> %s %s session %s\n", r.method, r.path,
            out.proceed ? "proceed" : "refuse", rt_rule_name(out.rule),
            out.has_session ? out.log_id : "-");
    if (out.proceed) {
        if (out.has_token &&
            rt_set_cookie_write(cookies, token, token_len, out.max_age_secs, set_cookie,
                                sizeof set_cookie, &set_cookie_len) != RT_STATUS_OK)
            set_cookie_len = 0;
        snprintf(body, sizeof body, "proceed %s session %s counter %llu%s\n",
                 rt_rule_name(out.rule), out.log_id, (unsigned long long)out.counter,
                 out.authenticated ? " authenticated" : "");
        RESPOND(fd, "200 OK", set_cookie, set_cookie_len, body);
    }
    snprintf(body, sizeof body, "refused %s session %s\n", rt_rule_name(out.rule),
             out.has_session ? out.log_id : "-");
    if (out.clear_cookie) { /* reuse, revoked, expired, forged, ...: log in again */
        if (rt_clear_cookie_write(cookies, set_cookie, sizeof set_cookie, &set_cookie_len) !=
            RT_STATUS_OK)
            set_cookie_len = 0;
        RESPOND(fd, "401 Unauthorized", set_cookie, set_cookie_len, body);
    }
    /* Kept cookie: a retryable refusal (busy, grace_exhausted) or a policy one. */
    respond(fd, strcmp(rt_rule_name(out.rule), "no_session") == 0 ? "401 Unauthorized"
                                                                  : "503 Service Unavailable",
            NULL, 0, body);
}

int main(int argc, char **argv)
{
    /* A fixed demo key. Real deployments load 32 random bytes from a secret store (and keep
     * an old key in the ring while rotating). */
    static const uint8_t key_id = 1, secret[RT_KEY_LEN] = "rolltoken demo key: not secret!";
    unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
    unsigned long max_requests = argc > 2 ? strtoul(argv[2], NULL, 10) : 0, served = 0;
    rt_keyring *keyring = NULL;
    rt_sessions *sessions = NULL;
    rt_cookie_config cookies;
    rt_policy policy;
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    struct sigaction sa;
    int one = 1, lfd = -1, rc = 1;

    if (argc < 2 || port > 65535) {
        fprintf(stderr, "usage: %s PORT [MAX_REQUESTS [GRACE_MS]]\n", argv[0]);
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rt_policy_default(&policy); /* strict mode, compact tokens, anonymous visitors */
    if (argc > 3)
        policy.grace_ms = (uint32_t)strtoul(argv[3], NULL, 10);
    /* Plain HTTP on loopback: the `rolltoken` cookie without Secure. Behind TLS use
     * rt_cookie_config_default (`__Host-rolltoken`, Secure). */
    rt_cookie_config_insecure_local(&cookies);
    urandom_fd = open("/dev/urandom", O_RDONLY);
    if (urandom_fd < 0 || rt_keyring_new(&key_id, secret, 1, key_id, &keyring) != RT_STATUS_OK ||
        rt_sessions_new(keyring, &policy, &sessions) != RT_STATUS_OK) {
        fprintf(stderr, "gateway: setup failed\n");
        goto done;
    }
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("gateway: listen");
        goto done;
    }
    printf("listening on http://127.0.0.1:%u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);

    while (!stopping && (max_requests == 0 || served < max_requests)) {
        struct sockaddr_in peer;
        socklen_t peer_len = sizeof peer;
        struct timeval tv = {2, 0};
        char ip[INET_ADDRSTRLEN];
        int fd = accept(lfd, (struct sockaddr *)&peer, &peer_len);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            perror("gateway: accept");
            break;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); /* a stalled client */
        if (inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip) == NULL)
            strcpy(ip, "");
        serve(fd, sessions, &cookies, ip);
        close(fd);
        served++;
    }
    rc = 0;
done:
    if (lfd >= 0)
        close(lfd);
    rt_sessions_free(sessions);
    rt_keyring_free(keyring);
    if (urandom_fd >= 0)
        close(urandom_fd);
    return rc;
}
