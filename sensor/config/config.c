/* config.c — tokenwatch.yaml (SPEC §2) into struct config: the table of keys, one row per key,
 * and the public calls (defaults, load with --set overrides, free) that work through it.
 *
 * Start-up only: main() calls config_load() once (and again on reload); every other module reads
 * the resulting struct config. Owns every string and array in it. The file is parsed into a
 * yaml_doc tree (lines kept), `--set` overrides edit that tree, and one strict walk over the table
 * (config_parse.c) turns it into struct config; config_dump.c writes it back from the same table,
 * config_lists.c adds what the lists of mappings need beyond their rows. A row (config_keys.h)
 * gives a key's type, field, default, bounds and how the dump writes it: adding a key is one row
 * here plus its field in config.h.
 *
 * YAML 1.1 as Suricata reads it (see config.h for the value syntax and --set rules).
 */
#include "config.h"
#include "config_keys.h"
#include "config_parse.h"
#include "yaml_doc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The names an enumerated value may take, indexed by its enum in config.h. */
static const char *const alg_names[POLICY_ALG_COUNT] = POLICY_ALG_NAMES;
static const char *const type_names[] = {"alert", "token", "stats", "http", "flow", "anomaly",
                                         "keyset"}; /* EVE_T_* bits, in order */
const char *const config_filetypes[CONFIG_NFILETYPES] = {
    "regular", "unix_dgram", "unix_stream", "syslog", "redis"};
static const char *const token_event_names[] = {"all", "first", "none"};
static const char *const facility_names[SYSLOG_FACILITY_COUNT] = SYSLOG_FACILITY_NAMES;
static const char *const level_names[SYSLOG_LEVEL_COUNT] = SYSLOG_LEVEL_NAMES;
static const char *const redis_mode_names[] = {"list", "lpush", "rpush", "channel", "publish"};
static const char *const fanout_names[] = {"auto", "yes", "no"};
static const char *const auto_no_names[] = {"auto", "no"}; /* verify-shed, huge-pages */

_Static_assert(EVE_FT_REDIS + 1 == CONFIG_NFILETYPES, "a filetype without its name");
_Static_assert(EVE_T_KEYSET == 1u << (NELEM(type_names) - 1), "a record type without its name");
_Static_assert(EVE_REDIS_PUBLISH + 1 == NELEM(redis_mode_names), "a redis mode without its name");
_Static_assert(TOKEN_EVENTS_NONE + 1 == NELEM(token_event_names), "token-events without names");
_Static_assert(CAPTURE_FANOUT_NO + 1 == NELEM(fanout_names), "a capture.fanout without its name");
_Static_assert(VERIFY_SHED_NO + 1 == NELEM(auto_no_names), "verify-shed without names");
_Static_assert(HUGE_PAGES_NO + 1 == NELEM(auto_no_names), "huge-pages without names");

/* Request headers that carry a bare JWT (tokens.headers): what authenticating proxies put in
 * front of applications (App Service, ALB, oauth2-proxy, IAP), and WebSocket subprotocols. */
static const char *const token_headers[] = {
    "X-MS-Token-AAD-Access-Token", "X-MS-Token-AAD-Id-Token", "X-Amzn-Oidc-Data",
    "X-Amzn-Oidc-Accesstoken",     "X-Forwarded-Access-Token", "X-Goog-Iap-Jwt-Assertion",
    "X-Auth-Request-Access-Token", "Sec-WebSocket-Protocol",    NULL,
};

/* Minimums (README "Engine limits"): below them a limit cannot hold one unit of what it bounds,
 * and the sensor would see nothing while saying nothing. */
#define MIN_FLOW_MEMCAP (128u << 10)  /* the smallest bucket array (8 KiB) and 32 flows of about
                                         3.7 KiB (struct flow and its HTTP state) */
#define MIN_SEGMENTS (64u << 10)      /* one out-of-order segment of the largest IP datagram */
#define MIN_HTTP_HEAD 1024u           /* a request line and an Authorization header with a JWT */
#define MIN_HTTP_MEMCAP (64u << 10)   /* one head of the default http-max-head */
#define MIN_DEFRAG_MEMCAP (64u << 10) /* the fragments of dozens of 1500-byte-MTU datagrams */
#define MIN_CACHE_MEMCAP (64u << 10)  /* a few hundred cached verdicts */
#define MIN_QUEUE 4096u               /* a few records (replay.memcap: a few dozen tokens) */

#define S_CONFIG struct config
#define S_OUTPUT struct eve_output_cfg
#define S_KEYSET struct keyset_cfg
#define S_REVOKED struct revoked_cfg
#define S_CLOUD struct entra_cloud_cfg
#define AT(b, f) .base = CB_##b, .off = offsetof(S_##b, f), .width = sizeof(((S_##b *)0)->f)
#define N(b, f) .count = offsetof(S_##b, f)

/* One macro per kind; a row's optional columns (.dump, .flags, ...) follow its last argument. */
#define BOOL(b, key, f, d, ...) {key, CK_BOOL, AT(b, f), .def = d, __VA_ARGS__}
#define INT(b, key, f, lo, hi, d, ...) \
    {key, CK_INT, AT(b, f), .min = lo, .max = hi, .def = d, __VA_ARGS__}
#define SECS(b, key, f, lo, hi, d, ...) \
    {key, CK_SECONDS, AT(b, f), .min = lo, .max = hi, .def = d, __VA_ARGS__}
#define SIZE(b, key, f, lo, hi, d, ...) \
    {key, CK_SIZE, AT(b, f), .min = lo, .max = hi, .def = d, __VA_ARGS__}
#define STR(b, key, f, nonempty, d, ...) \
    {key, CK_STR, AT(b, f), .min = nonempty, .def_str = d, __VA_ARGS__}
#define PATH(b, key, f, ...) {key, CK_PATH, AT(b, f), .min = 1, __VA_ARGS__}
#define ENUM(b, key, f, names_, d, ...) \
    {key, CK_ENUM, AT(b, f), .names = names_, .nnames = NELEM(names_), .def = d, __VA_ARGS__}
#define MASK(b, key, f, names_, item, d, ...)                                                   \
    {key, CK_MASK, AT(b, f), .names = names_, .nnames = NELEM(names_), .min = 1, .what = item, \
     .def = d, __VA_ARGS__}
#define PORTS(b, key, f, n, d, ...) \
    {key, CK_PORTS, AT(b, f), N(b, n), .min = 1, .max = 65535, .def = d, __VA_ARGS__}
#define STRS(b, key, f, n, least, item, defs, ...) \
    {key, CK_STRS, AT(b, f), N(b, n), .min = least, .what = item, .def_strs = defs, __VA_ARGS__}
#define LIST(b, key, f, n, l, ...) {key, CK_LIST, AT(b, f), N(b, n), .list = &l, __VA_ARGS__}

#define ALL_ALGS ((1u << POLICY_ALG_COUNT) - 1)
#define DEFAULT_TYPES (EVE_T_ALERT | EVE_T_TOKEN | EVE_T_STATS)
#define SYSLOG .dump = CD_FILETYPE, .filetype = EVE_FT_SYSLOG
#define REDIS .dump = CD_FILETYPE, .filetype = EVE_FT_REDIS
#define LOCAL5 21 /* syslog's defaults, as Suricata's */
#define INFO 6

/* Every key, in the dump's order. A row: its kind's macro, the struct its field is in (CONFIG:
 * struct config; OUTPUT, KEYSET, REVOKED, CLOUD: one item of a list), the key, the field, then
 * per kind the bounds, names and default; optional columns (.dump, .flags) last. */
const struct config_key config_keys[] = {
    STR(CONFIG, "sensor-name", sensor_name, 1, NULL),
    STRS(CONFIG, "sensor-tags", sensor_tags, nsensor_tags, 1, "tag", NULL, .dump = CD_SET,
         .item_indent = 6),

    LIST(CONFIG, "outputs", outputs, noutputs, config_lists_outputs),
    ENUM(OUTPUT, "outputs.eve.filetype",        filetype, config_filetypes, EVE_FT_REGULAR),
    STR(OUTPUT,  "outputs.eve.filename",        filename, 1, "eve.json"),
    MASK(OUTPUT, "outputs.eve.types",           types, type_names, "record type", DEFAULT_TYPES),
    ENUM(OUTPUT, "outputs.eve.token-events",    token_events, token_event_names, TOKEN_EVENTS_ALL),
    BOOL(OUTPUT, "outputs.eve.raw-tokens",      raw_tokens, 0),
    BOOL(OUTPUT, "outputs.eve.ethernet",        ethernet, 0),
    SIZE(OUTPUT, "outputs.eve.queue-size",      queue_size, MIN_QUEUE, UINT64_MAX, 16u << 20),
    SIZE(OUTPUT, "outputs.eve.rotate-size",     rotate_size, 0, UINT64_MAX, 0, .dump = CD_SET),
    SECS(OUTPUT, "outputs.eve.rotate-interval", rotate_interval, 0, 366u * 86400, 0,
         .dump = CD_SET),
    ENUM(OUTPUT, "outputs.eve.facility",        syslog_facility, facility_names, LOCAL5, SYSLOG),
    ENUM(OUTPUT, "outputs.eve.level",           syslog_level, level_names, INFO, SYSLOG),
    STR(OUTPUT,  "outputs.eve.identity",        syslog_identity, 1, NULL, SYSLOG),
    STR(OUTPUT,  "outputs.eve.syslog-socket",   syslog_socket, 1, NULL, SYSLOG),
    INT(OUTPUT,  "outputs.eve.redis.port",      redis_port, 1, 65535, 6379, REDIS),
    ENUM(OUTPUT, "outputs.eve.redis.mode",      redis_mode, redis_mode_names, EVE_REDIS_LIST,
         REDIS),
    STR(OUTPUT,  "outputs.eve.redis.server",    redis_server, 1, NULL, REDIS),
    STR(OUTPUT,  "outputs.eve.redis.key",       redis_key, 1, NULL, REDIS),
    BOOL(OUTPUT, "outputs.eve.enabled",         enabled, 1, .dump = CD_NEVER),

    LIST(CONFIG, "keysets", keysets, nkeysets, config_lists_keysets, .flags = CF_LINE,
         .line = offsetof(struct config, keysets_line)),
    STR(KEYSET,  "keysets.name",        name, 1, NULL),
    PATH(KEYSET, "keysets.jwks",        jwks),
    STR(KEYSET,  "keysets.jwks-uri",    jwks_uri, 1, NULL, .dump = CD_SET),
    STR(KEYSET,  "keysets.discovery",   discovery, 1, NULL, .dump = CD_SET),
    STRS(KEYSET, "keysets.issuers",     issuers, nissuers, 1, "issuer", NULL),
    STRS(KEYSET, "keysets.audiences",   audiences, naudiences, 1, "audience", NULL,
         .dump = CD_SET),
    STRS(KEYSET, "keysets.token-types", token_types, ntoken_types, 1, "token type", NULL,
         .dump = CD_SET),
    SECS(KEYSET, "keysets.max-lifetime", max_lifetime, 0, INT64_MAX, 0, .dump = CD_SET),
    SECS(KEYSET, "keysets.keep-retired", keep_retired, 0, INT64_MAX, 365 * 86400),

    LIST(CONFIG, "revoked-keys", revoked, nrevoked, config_lists_revoked),
    STR(REVOKED, "revoked-keys.kid",    kid, 1, NULL),
    STR(REVOKED, "revoked-keys.x5t",    x5t, 1, NULL),
    STR(REVOKED, "revoked-keys.sha1",   sha1, 1, NULL),
    STR(REVOKED, "revoked-keys.jkt",    jkt, 1, NULL),
    STR(REVOKED, "revoked-keys.reason", reason, 0, NULL),
    PATH(CONFIG, "revoked-keys-file",   revoked_keys_file, .flags = CF_LINE,
         .line = offsetof(struct config, revoked_keys_file_line)),
    BOOL(CONFIG, "allow-test-keys",     allow_test_keys, 0),

    BOOL(CONFIG, "policy.verify-observed-keys", verify_observed, 0),
    SECS(CONFIG, "policy.clock-skew",           clock_skew, 0, INT64_MAX, 300),
    SECS(CONFIG, "policy.max-lifetime",         max_lifetime, 1, INT64_MAX, 90000),
    INT(CONFIG,  "policy.kidless-max-keys",     kidless_max, 0, 64, 8),
    MASK(CONFIG, "policy.algorithms",           alg_mask, alg_names, "algorithm", ALL_ALGS),
    INT(CONFIG,  "policy.replay.clients",       replay_clients, 0, 64, 3),
    SECS(CONFIG, "policy.replay.window",        replay_window, 1, 7 * 86400, 600),
    SIZE(CONFIG, "policy.replay.memcap",        replay_memcap, MIN_QUEUE, UINT64_MAX, 16u << 20),
    LIST(CONFIG, "policy.entra-clouds", clouds, nclouds, config_lists_clouds),
    STR(CLOUD,   "policy.entra-clouds.v1",      v1, 1, NULL),
    STR(CLOUD,   "policy.entra-clouds.v2",      v2, 1, NULL),

    SIZE(CONFIG, "engine.flow-memcap",   flow_memcap, MIN_FLOW_MEMCAP, UINT64_MAX, 128u << 20),
    SECS(CONFIG, "engine.flow-timeout",  flow_timeout, 1, UINT32_MAX, 120),
    SECS(CONFIG, "engine.flow-closed-timeout", flow_closed_timeout, 0, UINT32_MAX, 10),
    SIZE(CONFIG, "engine.stream-memcap", stream_memcap, MIN_SEGMENTS, UINT64_MAX, 64u << 20),
    SIZE(CONFIG, "engine.stream-ooo-limit", stream_dir_limit, MIN_SEGMENTS, UINT64_MAX, 1u << 20),
    SIZE(CONFIG, "engine.http-max-head", http_max_head, MIN_HTTP_HEAD, UINT64_MAX, 64u << 10),
    SIZE(CONFIG, "engine.http-memcap",   http_memcap, MIN_HTTP_MEMCAP, UINT64_MAX, 64u << 20),
    SIZE(CONFIG, "engine.body-limit",    body_limit, 0, 64u << 20, 256u << 10),
    INT(CONFIG,  "engine.inflate-ratio", inflate_ratio, 2, 100000, 100),
    INT(CONFIG,  "engine.observed-sets", observed_sets, 1, 1u << 20, 256),
    SIZE(CONFIG, "engine.defrag-memcap", defrag_memcap, MIN_DEFRAG_MEMCAP, UINT64_MAX, 32u << 20),
    SECS(CONFIG, "engine.defrag-timeout", defrag_timeout, 1, 3600, 60),
    INT(CONFIG,  "engine.verify-cache-entries", vcache_entries, 1, UINT64_MAX, 65536),
    SIZE(CONFIG, "engine.verify-cache-memcap", vcache_memcap, MIN_CACHE_MEMCAP, UINT64_MAX,
         64u << 20),
    SECS(CONFIG, "engine.stats-interval", stats_interval, 1, UINT32_MAX, 60),
    ENUM(CONFIG, "engine.verify-shed",   verify_shed, auto_no_names, VERIFY_SHED_AUTO),
    INT(CONFIG,  "engine.verify-shed-lag", verify_shed_lag, 1, 60000, 200), /* ms */
    ENUM(CONFIG, "engine.huge-pages",    huge_pages, auto_no_names, HUGE_PAGES_AUTO),

    STR(CONFIG,  "capture.bpf",         bpf, 0, NULL, .flags = CF_LINE,
        .line = offsetof(struct config, bpf_line)),
    INT(CONFIG,  "capture.snaplen",     snaplen, 1, 262144, 262144), /* libpcap's maximum */
    SIZE(CONFIG, "capture.buffer-size", buffer_size, 0, UINT64_MAX, 0), /* 0: libpcap's */
    BOOL(CONFIG, "capture.promisc",     promisc, 1),
    BOOL(CONFIG, "capture.immediate",   immediate, 0),
    ENUM(CONFIG, "capture.fanout",      fanout, fanout_names, CAPTURE_FANOUT_AUTO),

    PORTS(CONFIG, "decode.vxlan-ports",  vxlan_ports, nvxlan_ports, 4789),   /* RFC 7348 §5 */
    PORTS(CONFIG, "decode.geneve-ports", geneve_ports, ngeneve_ports, 6081), /* RFC 8926 §3.3 */

    STRS(CONFIG, "tokens.headers", token_headers, ntoken_headers, 0, "header", token_headers),

    STR(CONFIG,  "fleet.redis.server",   fleet_server, 1, NULL),
    INT(CONFIG,  "fleet.redis.port",     fleet_port, 1, 65535, 6379),
    PATH(CONFIG, "fleet.redis.path",     fleet_path),
    STR(CONFIG,  "fleet.redis.password", fleet_password, 1, NULL),
    INT(CONFIG,  "fleet.redis.db",       fleet_db, 0, 65535, 0),
    SECS(CONFIG, "fleet.window",         fleet_window, 1, 30 * 86400, 3600),
    INT(CONFIG,  "fleet.clients",        fleet_clients, 2, 1000, 3),
    INT(CONFIG,  "fleet.networks",       fleet_networks, 1, 32, 24),
    INT(CONFIG,  "fleet.networks-v6",    fleet_networks_v6, 1, 128, 64),
    INT(CONFIG,  "fleet.queue-size",     fleet_queue, 16, 1u << 20, 4096),
    INT(CONFIG,  "fleet.unverified-rate", fleet_unverified_rate, 0, 1000000, 50),
    SIZE(CONFIG, "fleet.memcap",         fleet_memcap, MIN_CACHE_MEMCAP, UINT64_MAX, 4u << 20),
};
const size_t config_keys_count = NELEM(config_keys);

/* ---- allocation ------------------------------------------------------------------------- */

void *config_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("tokenwatch: out of memory reading configuration\n", stderr);
        abort();
    }
    return p;
}

char *config_strdup(const char *s)
{
    size_t n = strlen(s);
    char *p = config_calloc(1, n + 1);
    memcpy(p, s, n);
    return p;
}

/* ---- rows ------------------------------------------------------------------------------- */

const struct config_key *config_key_find(const char *name, int base)
{
    for (size_t i = 0; i < config_keys_count; i++)
        if (config_keys[i].base == base && strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

int config_key_is_section(const char *name, int base)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < config_keys_count; i++)
        if (config_keys[i].base == base && strncmp(config_keys[i].name, name, n) == 0 &&
            config_keys[i].name[n] == '.')
            return 1;
    return 0;
}

uint64_t config_key_get(const struct config_key *k, const void *p)
{
    const char *src = (const char *)p + k->off;
    if (k->width == 8) {
        uint64_t v;
        memcpy(&v, src, sizeof(v));
        return v;
    }
    uint32_t v; /* uint32_t, and int for booleans, enums and redis.port */
    memcpy(&v, src, sizeof(v));
    return v;
}

void config_key_put(const struct config_key *k, void *p, uint64_t v)
{
    char *dst = (char *)p + k->off;
    if (k->width == 8) {
        memcpy(dst, &v, sizeof(v));
    } else {
        uint32_t v32 = (uint32_t)v;
        memcpy(dst, &v32, sizeof(v32));
    }
}

static char **str_at(const struct config_key *k, const void *p)
{
    return (char **)((char *)p + k->off);
}

static size_t *count_at(const struct config_key *k, const void *p)
{
    return (size_t *)((char *)p + k->count);
}

int config_key_is_default(const struct config_key *k, const void *p)
{
    switch (k->kind) {
    case CK_STR:
    case CK_PATH: {
        const char *s = *str_at(k, p);
        return s && k->def_str ? strcmp(s, k->def_str) == 0 : s == k->def_str;
    }
    case CK_PORTS:
    case CK_STRS:
    case CK_LIST:
        return 0;
    default:
        return config_key_get(k, p) == k->def;
    }
}

void config_base_defaults(int base, void *p)
{
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->base != base)
            continue;
        if (k->flags & CF_LINE)
            *(int *)((char *)p + k->line) = -1;
        switch (k->kind) {
        case CK_STR:
        case CK_PATH:
            *str_at(k, p) = k->def_str ? config_strdup(k->def_str) : NULL;
            break;
        case CK_PORTS: {
            uint16_t port = (uint16_t)k->def;
            memcpy((char *)p + k->off, &port, sizeof(port));
            *((uint8_t *)p + k->count) = 1;
            break;
        }
        case CK_STRS: {
            size_t n = 0;
            while (k->def_strs && k->def_strs[n])
                n++;
            char **a = n ? config_calloc(n, sizeof(*a)) : NULL;
            for (size_t j = 0; j < n; j++)
                a[j] = config_strdup(k->def_strs[j]);
            *(char ***)((char *)p + k->off) = a;
            *count_at(k, p) = n;
            break;
        }
        case CK_LIST:
            if (k->list->defaults)
                k->list->defaults(k, p);
            break;
        default:
            config_key_put(k, p, k->def);
        }
    }
}

void config_key_free(const struct config_key *k, void *p)
{
    switch (k->kind) {
    case CK_STR:
    case CK_PATH:
        free(*str_at(k, p));
        *str_at(k, p) = NULL;
        break;
    case CK_STRS: {
        char ***a = (char ***)((char *)p + k->off);
        for (size_t j = 0; j < *count_at(k, p); j++)
            free((*a)[j]);
        free(*a);
        *a = NULL;
        *count_at(k, p) = 0;
        break;
    }
    case CK_LIST: {
        char **a = (char **)((char *)p + k->off);
        for (size_t j = 0; *a && j < *count_at(k, p); j++)
            config_base_free(k->list->base, *a + j * k->list->size);
        free(*a);
        *a = NULL;
        *count_at(k, p) = 0;
        break;
    }
    default:
        break;
    }
}

void config_base_free(int base, void *p)
{
    for (size_t i = 0; i < config_keys_count; i++)
        if (config_keys[i].base == base)
            config_key_free(&config_keys[i], p);
}

/* ---- public ----------------------------------------------------------------------------- */

const char *config_filetype_name(int filetype)
{
    return filetype >= 0 && filetype < CONFIG_NFILETYPES ? config_filetypes[filetype] : "?";
}

static int apply_set(const struct config_parse *x, struct yaml_doc_node **root, const char *set)
{
    static const char *const synonyms[] = {"eve", "eve-log", NULL};
    char key[CONFIG_PARSE_KEY_LEN], why[200];
    const char *eq = strchr(set, '=');
    size_t klen = eq ? (size_t)(eq - set) : 0;
    if (!eq || klen == 0 || klen >= sizeof(key))
        return config_parse_fail(x, 0, set, "expected KEY=VALUE");
    memcpy(key, set, klen);
    key[klen] = '\0';
    struct yaml_doc_node *v;
    struct yaml_doc_error e;
    if (yaml_doc_parse_value(eq + 1, &v, &e) < 0)
        return config_parse_fail(x, 0, key, "bad value: %s", e.msg);
    if (yaml_doc_set_path(root, key, v, synonyms, why, sizeof(why)) < 0)
        return config_parse_fail(x, 0, key, "%s", why);
    return 0;
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    config_base_defaults(CB_CONFIG, c);
}

void config_free(struct config *c)
{
    config_base_free(CB_CONFIG, c);
    free(c->path);
    c->path = NULL;
}

int config_load_buffer(struct config *c, const char *name, const char *buf, size_t len,
                       const char *const *sets, size_t nsets, char *err, size_t errlen)
{
    struct config_parse x = {name ? name : "(built-in)", NULL, err, errlen};
    struct yaml_doc_node *root = NULL;
    struct yaml_doc_error e;
    struct config t;
    char b[80];
    int rc = 0;
    if (err && errlen)
        err[0] = '\0';
    const char *slash = name ? strrchr(name, '/') : NULL;
    if (slash) {
        size_t n = slash == name ? 1 : (size_t)(slash - name);
        x.dir = config_calloc(1, n + 1);
        memcpy(x.dir, name, n);
    }
    config_defaults(&t);
    if (buf && yaml_doc_parse(buf, len, &root, &e) < 0)
        rc = config_parse_fail(&x, e.line, "YAML syntax error", "%s", e.msg);
    else if (!yaml_doc_is_null(root) && root->kind != YAML_DOC_MAP)
        rc = config_parse_fail(&x, root->line, "(top level)", "expected a mapping, got %s",
                               config_parse_shown(root, b, sizeof(b)));
    for (size_t i = 0; rc == 0 && i < nsets; i++)
        rc = apply_set(&x, &root, sets[i]);
    if (rc == 0 && !yaml_doc_is_null(root))
        rc = config_parse_map(&x, root, "", "", CB_CONFIG, &t);
    yaml_doc_free(root);
    free(x.dir);
    if (rc < 0) {
        config_free(&t);
        return -1;
    }
    t.path = name ? config_strdup(name) : NULL;
    config_free(c);
    *c = t;
    return 0;
}

int config_load(struct config *c, const char *path, const char *const *sets, size_t nsets,
                char *err, size_t errlen)
{
    if (!path)
        return config_load_buffer(c, NULL, NULL, 0, sets, nsets, err, errlen);
    char *buf;
    size_t len;
    const char *what;
    if (yaml_doc_read_file(path, &buf, &len, &what) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot %s: %s", path, what, strerror(errno));
        return -1;
    }
    int rc = config_load_buffer(c, path, buf, len, sets, nsets, err, errlen);
    free(buf);
    return rc;
}
