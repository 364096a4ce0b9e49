/* test_config.c — tokenwatch.yaml loading (config.c, yaml_doc.c): every section of a full file,
 * defaults, path resolution, one test per class of error (asserting file, line and key path in
 * the message), --set overrides on scalars, lists, new keys and unknown keys, Suricata's list
 * form of outputs, and the config_dump round trip. Files are written into a fresh temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_fixture.h"

static void assert_defaults(const struct config *c)
{
    assert_int_equal(c->noutputs, 1);
    assert_int_equal(c->outputs[0].filetype, EVE_FT_REGULAR);
    assert_string_equal(c->outputs[0].filename, "eve.json");
    assert_int_equal(c->outputs[0].types, EVE_T_ALERT | EVE_T_TOKEN | EVE_T_STATS);
    assert_int_equal(c->outputs[0].token_events, TOKEN_EVENTS_ALL);
    assert_int_equal(c->outputs[0].raw_tokens, 0);
    assert_null(c->outputs[0].redis_server);
    assert_null(c->outputs[0].redis_key);
    assert_int_equal(c->outputs[0].redis_port, 6379);
    assert_int_equal(c->outputs[0].redis_mode, EVE_REDIS_LIST);
    assert_int_equal(c->nkeysets, 0);
    assert_int_equal(c->nrevoked, 0);
    assert_int_equal(c->clock_skew, 300);
    assert_int_equal(c->max_lifetime, 90000);
    assert_int_equal(c->kidless_max, 8);
    assert_int_equal(c->alg_mask, (1u << POLICY_ALG_COUNT) - 1);
    assert_int_equal(c->flow_memcap, 128u << 20);
    assert_int_equal(c->flow_timeout, 120);
    assert_int_equal(c->flow_closed_timeout, 10);
    assert_int_equal(c->stream_memcap, 64u << 20);
    assert_int_equal(c->stream_dir_limit, 1u << 20);
    assert_int_equal(c->http_max_head, 64u << 10);
    assert_int_equal(c->vcache_entries, 65536);
    assert_int_equal(c->vcache_memcap, 64u << 20);
    assert_int_equal(c->replay_clients, 3);
    assert_int_equal(c->replay_window, 600);
    assert_int_equal(c->replay_memcap, 16u << 20);
    assert_int_equal(c->nclouds, 3);
    assert_string_equal(c->clouds[0].v1, "https://sts.windows.net/");
    assert_string_equal(c->clouds[0].v2, "https://login.microsoftonline.com/");
    assert_string_equal(c->clouds[2].v1, "https://sts.chinacloudapi.cn/");
    assert_int_equal(c->stats_interval, 60);
    assert_null(c->bpf);
    assert_int_equal(c->snaplen, 262144);
    assert_int_equal(c->buffer_size, 0);
    assert_int_equal(c->promisc, 1);
    assert_int_equal(c->immediate, 0);
}

static void test_defaults(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    config_defaults(&c);
    assert_defaults(&c);
    assert_null(c.path);
    config_free(&c);
    assert_int_equal(config_load(&c, NULL, NULL, 0, fx->err, sizeof(fx->err)), 0);
    assert_defaults(&c);
    config_free(&c);
    config_free(&c); /* safe twice */
    assert_null(c.outputs);
}

static void test_empty_files(void **state)
{
    struct fixture *fx = *state;
    static const char *const texts[] = {"", "\n\n", "# only a comment\n", "---\n",
                                        "%YAML 1.1\n---\n", "~\n",
                                        "outputs:\nkeysets:\ncapture:\n  bpf:\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct config c = {0};
        assert_int_equal(load(fx, &c, texts[i], NULL, 0), 0);
        assert_defaults(&c);
        assert_string_equal(c.path, fx->path);
        config_free(&c);
    }
}

static const char full_yaml[] =
    "%YAML 1.1\n"
    "---\n"
    "outputs:\n"
    "  eve:\n"
    "    filetype: redis\n"
    "    filename: out/eve.json\n"
    "    types: [alert, token, http, flow, anomaly, keyset]\n"
    "    token-events: first\n"
    "    raw-tokens: Yes\n"
    "    redis: {server: 10.0.0.1, port: 6380, mode: publish, key: tw}\n"
    "keysets:\n"
    "  - name: entra-organizations\n"
    "    jwks: keys/entra.jwks.json\n"
    "    issuers:\n"
    "      - \"https://login.microsoftonline.com/{tenantid}/v2.0\"\n"
    "      - \"https://sts.windows.net/{tenantid}/\"\n"
    "  - name: msa\n"
    "    jwks: /abs/msa.jwks.json\n"
    "    issuers: [\"https://login.microsoftonline.com/9188040d/v2.0\"]\n"
    "revoked-keys:\n"
    "  - kid: 1LTMzakihiRla_8z2BEJVXeWMqo\n"
    "    sha1: D4:B4:CC:CD:A9:22:86:24:65:6B:FF:33:D8:11:09:55:77:96:32:AA\n"
    "    reason: Storm-0558 acquired MSA signing key\n"
    "  - jkt: abc\n"
    "    x5t: def\n"
    "policy:\n"
    "  clock-skew: 0\n"
    "  max-lifetime: 3600\n"
    "  algorithms: [RS256, ES384, EdDSA]\n"
    "engine:\n"
    "  flow-memcap: 64mb\n"
    "  flow-timeout: 30\n"
    "  flow-closed-timeout: 0\n"
    "  stream-memcap: 1 GB\n"
    "  stream-ooo-limit: 512kb\n"
    "  http-max-head: 8192\n"
    "  verify-cache-entries: 1000\n"
    "  stats-interval: 5\n"
    "capture:\n"
    "  bpf: tcp port 80\n"
    "  snaplen: 1514\n"
    "  buffer-size: 16MB\n"
    "  promisc: off\n"
    "  immediate: true\n";

static void test_full_file(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    char want[256];
    assert_int_equal(load(fx, &c, full_yaml, NULL, 0), 0);
    assert_int_equal(c.noutputs, 1);
    const struct eve_output_cfg *o = &c.outputs[0];
    assert_int_equal(o->filetype, EVE_FT_REDIS);
    assert_string_equal(o->filename, "out/eve.json"); /* relative to -l, not to the file */
    assert_int_equal(o->types, EVE_T_ALERT | EVE_T_TOKEN | EVE_T_HTTP | EVE_T_FLOW |
                                   EVE_T_ANOMALY | EVE_T_KEYSET);
    assert_int_equal(o->token_events, TOKEN_EVENTS_FIRST);
    assert_int_equal(o->raw_tokens, 1);
    assert_string_equal(o->redis_server, "10.0.0.1");
    assert_int_equal(o->redis_port, 6380);
    assert_int_equal(o->redis_mode, EVE_REDIS_PUBLISH);
    assert_string_equal(o->redis_key, "tw");
    assert_int_equal(o->line, 5);

    assert_int_equal(c.nkeysets, 2);
    assert_string_equal(c.keysets[0].name, "entra-organizations");
    snprintf(want, sizeof(want), "%s/keys/entra.jwks.json", fx->dir);
    assert_string_equal(c.keysets[0].jwks, want);
    assert_int_equal(c.keysets[0].nissuers, 2);
    assert_string_equal(c.keysets[0].issuers[0],
                        "https://login.microsoftonline.com/{tenantid}/v2.0");
    assert_string_equal(c.keysets[0].issuers[1], "https://sts.windows.net/{tenantid}/");
    assert_int_equal(c.keysets[0].line, 12);
    assert_string_equal(c.keysets[1].jwks, "/abs/msa.jwks.json");
    assert_int_equal(c.keysets[1].nissuers, 1);

    assert_int_equal(c.nrevoked, 2);
    assert_string_equal(c.revoked[0].kid, "1LTMzakihiRla_8z2BEJVXeWMqo");
    assert_string_equal(c.revoked[0].sha1, "d4b4cccda9228624656bff33d8110955779632aa");
    assert_string_equal(c.revoked[0].reason, "Storm-0558 acquired MSA signing key");
    assert_null(c.revoked[0].x5t);
    assert_null(c.revoked[0].jkt);
    assert_int_equal(c.revoked[0].line, 21);
    assert_string_equal(c.revoked[1].jkt, "abc");
    assert_string_equal(c.revoked[1].x5t, "def");
    assert_null(c.revoked[1].reason);

    assert_int_equal(c.clock_skew, 0);
    assert_int_equal(c.max_lifetime, 3600);
    assert_int_equal(c.alg_mask, (1u << 0) | (1u << 7) | (1u << 9));
    assert_int_equal(c.flow_memcap, 64u << 20);
    assert_int_equal(c.flow_timeout, 30);
    assert_int_equal(c.flow_closed_timeout, 0);
    assert_int_equal(c.stream_memcap, 1u << 30);
    assert_int_equal(c.stream_dir_limit, 512u << 10);
    assert_int_equal(c.http_max_head, 8192);
    assert_int_equal(c.vcache_entries, 1000);
    assert_int_equal(c.stats_interval, 5);
    assert_string_equal(c.bpf, "tcp port 80");
    assert_int_equal(c.snaplen, 1514);
    assert_int_equal(c.buffer_size, 16u << 20);
    assert_int_equal(c.promisc, 0);
    assert_int_equal(c.immediate, 1);
    config_free(&c);
    config_free(&c);
}

/* Sections left out keep their defaults, one at a time. */
static void test_partial_defaults(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    assert_int_equal(load(fx, &c, "policy:\n  clock-skew: 10\n", NULL, 0), 0);
    assert_int_equal(c.clock_skew, 10);
    c.clock_skew = 300;
    assert_defaults(&c);
    config_free(&c);
    assert_int_equal(load(fx, &c, "outputs:\n  eve:\n    filename: x.json\n", NULL, 0), 0);
    assert_string_equal(c.outputs[0].filename, "x.json");
    assert_int_equal(c.outputs[0].types, EVE_T_ALERT | EVE_T_TOKEN | EVE_T_STATS);
    assert_int_equal(c.outputs[0].token_events, TOKEN_EVENTS_ALL);
    assert_int_equal(c.outputs[0].raw_tokens, 0);
    config_free(&c);
}

static void test_path_resolution(void **state)
{
    (void)state;
    static const struct {
        const char *name, *jwks, *want;
    } cases[] = {
        {"etc/demo/tokenwatch.yaml", "keys/a.json", "etc/demo/keys/a.json"},
        {"tokenwatch.yaml", "keys/a.json", "keys/a.json"},
        {"/tokenwatch.yaml", "keys/a.json", "/keys/a.json"},
        {"/etc/tw/tokenwatch.yaml", "../k.json", "/etc/tw/../k.json"},
        {"etc/demo/tokenwatch.yaml", "/srv/k.json", "/srv/k.json"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256], err[256];
        struct config c = {0};
        snprintf(text, sizeof(text), "keysets:\n  - {name: a, jwks: %s, issuers: [i]}\n",
                 cases[i].jwks);
        assert_int_equal(config_load_buffer(&c, cases[i].name, text, strlen(text), NULL, 0, err,
                                            sizeof(err)),
                         0);
        assert_string_equal(c.keysets[0].jwks, cases[i].want);
        config_free(&c);
    }
}

/* Suricata's shape: a list of outputs under eve-log, with `enabled`. */
static void test_list_outputs(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    assert_int_equal(load(fx, &c,
                          "%YAML 1.1\n---\noutputs:\n"
                          "  - eve-log:\n      enabled: yes\n      filename: a.json\n"
                          "  - eve-log:\n      enabled: no\n      filename: off.json\n"
                          "  - eve:\n      filetype: unix_dgram\n      filename: /run/tw.sock\n"
                          "      types: [keyset]\n"
                          "  - eve:\n",
                          NULL, 0),
                     0);
    assert_int_equal(c.noutputs, 3);
    assert_string_equal(c.outputs[0].filename, "a.json");
    assert_int_equal(c.outputs[1].filetype, EVE_FT_UNIX_DGRAM);
    assert_string_equal(c.outputs[1].filename, "/run/tw.sock");
    assert_int_equal(c.outputs[1].types, EVE_T_KEYSET);
    assert_string_equal(c.outputs[2].filename, "eve.json");
    config_free(&c);
    assert_int_equal(load(fx, &c, "outputs: []\n", NULL, 0), 0);
    assert_int_equal(c.noutputs, 0);
    config_free(&c);
}

static void test_errors(void **state)
{
    struct fixture *fx = *state;
    static const struct bad_case cases[] = {
        {"outputs:\n  eve: {}\nbogus: 1\n", "3: bogus: unknown key"},
        {"policy:\n  clock-skew: 5\n  clockskew: 5\n", "3: policy.clockskew: unknown key"},
        {"policy:\n  clock-skew: abc\n",
         "2: policy.clock-skew: expected a non-negative integer, got 'abc'"},
        {"policy:\n  clock-skew: -5\n", "2: policy.clock-skew: expected a non-negative integer"},
        {"policy:\n  max-lifetime: 0\n", "2: policy.max-lifetime: '0' is out of range"},
        {"policy:\n  clock-skew: [1]\n", "2: policy.clock-skew: expected a non-negative integer, "
                                         "got a sequence"},
        {"policy:\n  algorithms: [RS256, rs256]\n", "2: policy.algorithms[1]: expected one of"},
        {"policy:\n  algorithms: []\n", "2: policy.algorithms: needs at least one algorithm"},
        {"policy: 5\n", "1: policy: expected a mapping, got '5'"},
        {"keysets: {name: x}\n", "1: keysets: expected a list, got a mapping"},
        {"keysets:\n  - x\n", "2: keysets[0]: expected a mapping, got 'x'"},
        {"keysets:\n  - jwks: a.json\n    issuers: [i]\n", "2: keysets[0].name: missing"},
        {"keysets:\n  - name: a\n    issuers: [i]\n", "2: keysets[0].jwks: missing"},
        {"keysets:\n  - name: a\n    jwks: a.json\n", "2: keysets[0].issuers: missing"},
        {"keysets:\n  - {name: a, jwks: j, issuers: []}\n",
         "2: keysets[0].issuers: needs at least one issuer"},
        {"keysets:\n  - {name: a, jwks: j, issuers: [i, [x]]}\n",
         "2: keysets[0].issuers[1]: expected a string, got a sequence"},
        {"keysets:\n  - {name: \"\", jwks: j, issuers: [i]}\n",
         "2: keysets[0].name: must not be empty"},
        {"keysets:\n  - {name: a, jwks: j, issuers: [i]}\n  - {name: b, jwks: j, issuers: [i]}\n"
         "  - name: a\n    jwks: k\n    issuers: [i]\n",
         "4: keysets[2].name: duplicate keyset name 'a' (also keysets[0])"},
        {"keysets:\n  - {name: a, jwks: j, issuers: [i], trust: all}\n",
         "2: keysets[0].trust: unknown key"},
        {"revoked-keys:\n  - kid: a\n    sha1: d4b4cccd\n",
         "3: revoked-keys[0].sha1: expected 40 hex digits"},
        {"revoked-keys:\n  - sha1: zzb4cccda9228624656bff33d8110955779632aa\n",
         "2: revoked-keys[0].sha1: expected 40 hex digits"},
        {"revoked-keys:\n  - reason: why\n",
         "2: revoked-keys[0]: needs at least one of kid, x5t, sha1, jkt"},
        {"revoked-keys:\n  - kid: a\n    serial: 1\n", "3: revoked-keys[0].serial: unknown key"},
        {"outputs:\n  eve:\n    filetype: kafka\n",
         "3: outputs.eve.filetype: expected one of regular, unix_dgram, unix_stream, syslog, "
         "redis, got 'kafka'"},
        {"outputs:\n  eve:\n    types: [alert, dns]\n",
         "3: outputs.eve.types[1]: expected one of alert"},
        {"outputs:\n  eve:\n    token-events: some\n", "3: outputs.eve.token-events: expected one"},
        {"outputs:\n  eve:\n    raw-tokens: maybe\n",
         "3: outputs.eve.raw-tokens: expected a boolean (yes/no, true/false, on/off), got 'maybe'"},
        {"outputs:\n  eve:\n    filename: \"\"\n", "3: outputs.eve.filename: must not be empty"},
        {"outputs:\n  eve:\n    filename: \"a\\0b\"\n", "3: outputs.eve.filename: contains a NUL"},
        {"outputs:\n  eve:\n    redis:\n      port: 70000\n",
         "4: outputs.eve.redis.port: '70000' is out of range (1 to 65535)"},
        {"outputs:\n  eve:\n    redis:\n      mode: push\n", "4: outputs.eve.redis.mode: expected"},
        {"outputs:\n  eve:\n    redis:\n      db: 1\n", "4: outputs.eve.redis.db: unknown key"},
        {"outputs:\n  eve:\n    colour: red\n", "3: outputs.eve.colour: unknown key"},
        {"outputs:\n  fast: {}\n", "2: outputs.fast: unknown output (expected eve)"},
        {"outputs:\n  - eve-log:\n      bogus: 1\n", "3: outputs[0].eve-log.bogus: unknown key"},
        {"outputs:\n  - eve\n", "2: outputs[0]: expected a mapping like {eve: {...}}, got 'eve'"},
        {"outputs: eve\n", "1: outputs: expected a mapping or a list of mappings, got 'eve'"},
        {"engine:\n  flow-memcap: 12xb\n", "2: engine.flow-memcap: expected a size"},
        {"engine:\n  flow-memcap: 99999999999gb\n", "2: engine.flow-memcap: expected a size"},
        {"engine:\n  stream-memcap: 0\n", "2: engine.stream-memcap: '0' is out of range"},
        {"engine:\n  flow-timeout: 4294967296\n", "2: engine.flow-timeout: '4294967296' is out"},
        {"engine:\n  flow-timeout: 1.5\n", "2: engine.flow-timeout: expected a positive integer"},
        {"engine:\n  workers: 4\n", "2: engine.workers: unknown key"},
        {"capture:\n  promisc: 2\n", "2: capture.promisc: expected a boolean"},
        {"capture:\n  snaplen: 0\n", "2: capture.snaplen: '0' is out of range"},
        {"capture:\n  bpf: {port: 80}\n", "2: capture.bpf: expected a string, got a mapping"},
        {"- a\n- b\n", "1: (top level): expected a mapping, got a sequence"},
        {"\n\njust text\n", "3: (top level): expected a mapping, got 'just text'"},
        {"policy:\n  clock-skew: 1\npolicy:\n  clock-skew: 2\n",
         "3: YAML syntax error: duplicate key 'policy'"},
        {"a: &x 1\nb: *x\n", "2: YAML syntax error: aliases are not supported"},
        {"policy: {}\n---\npolicy: {}\n", "2: YAML syntax error: only one YAML document"},
        {"policy:\n\tclock-skew: 5\n", "2: YAML syntax error: found character that cannot start"},
        {"policy:\n  clock-skew: 5\n algorithms: [RS256]\n",
         "3: YAML syntax error: did not find expected key"},
        {"{[a]: 1}\n", "1: YAML syntax error: mapping keys must be scalars"},
        {"policy:\n  clock-skew: 5\ncapture: {bpf: \"\xff\"}\n",
         "3: YAML syntax error: invalid leading UTF-8 octet"},
        {"policy: {a: [1, 2}\n", "1: YAML syntax error: did not find expected ',' or ']' while "
                                  "parsing a flow sequence at line 1"},
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]"
         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", "1: YAML syntax error: nesting too deep"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config c = {0};
        char want[512];
        snprintf(want, sizeof(want), "%s:%s", fx->path, cases[i].expect);
        int rc = load(fx, &c, cases[i].yaml, NULL, 0);
        if (rc != -1 || strncmp(fx->err, want, strlen(want)) != 0)
            fail_msg("case %zu: rc %d, got \"%s\", want prefix \"%s\"", i, rc, fx->err, want);
        assert_defaults(&c); /* a failed load leaves c as it was */
        config_free(&c);
    }
}

/* A reload goes through the same call: failure keeps the running configuration, success
 * replaces it (and frees the old one: ASan would report a leak). */
static void test_reload(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    char err[512];
    assert_int_equal(load(fx, &c, full_yaml, NULL, 0), 0);
    write_file(fx->path, "policy:\n  clock-skew: x\n");
    assert_int_equal(config_load(&c, fx->path, NULL, 0, err, sizeof(err)), -1);
    assert_int_equal(c.nkeysets, 2);
    assert_int_equal(c.max_lifetime, 3600);
    assert_string_equal(c.bpf, "tcp port 80");
    write_file(fx->path, "policy:\n  clock-skew: 9\n");
    assert_int_equal(config_load(&c, fx->path, NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(c.clock_skew, 9);
    c.clock_skew = 300;
    assert_defaults(&c);
    config_free(&c);
}

static void test_unreadable(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    char missing[160], want[256];
    snprintf(missing, sizeof(missing), "%s/nope.yaml", fx->dir);
    assert_int_equal(config_load(&c, missing, NULL, 0, fx->err, sizeof(fx->err)), -1);
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", missing);
    assert_string_equal(fx->err, want);
    config_free(&c);
    assert_int_equal(config_load(&c, fx->dir, NULL, 0, fx->err, sizeof(fx->err)), -1);
    snprintf(want, sizeof(want), "%s: cannot read: Is a directory", fx->dir);
    assert_string_equal(fx->err, want);
    config_free(&c);
}

static void test_set_scalar(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    const char *sets[] = {"policy.clock-skew=7", "outputs.eve.raw-tokens=yes",
                          "engine.flow-memcap=2mb", "capture.bpf=tcp port 443",
                          "outputs.eve.filename=\"quoted name\""};
    assert_int_equal(load(fx, &c, "policy:\n  clock-skew: 5\n  max-lifetime: 60\n", sets, 5), 0);
    assert_int_equal(c.clock_skew, 7);
    assert_int_equal(c.max_lifetime, 60);
    assert_int_equal(c.outputs[0].raw_tokens, 1);
    assert_int_equal(c.flow_memcap, 2u << 20);
    assert_string_equal(c.bpf, "tcp port 443");
    assert_string_equal(c.outputs[0].filename, "quoted name");
    config_free(&c);
}

static void test_set_list(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    const char *sets[] = {"outputs.eve.types=[alert, token]", "policy.algorithms=[ES256]",
                          "keysets=[{name: k, jwks: rel/k.json, issuers: [a, b]}]"};
    assert_int_equal(load(fx, &c,
                          "outputs:\n  eve:\n    types: [stats]\n"
                          "keysets:\n  - {name: old, jwks: o.json, issuers: [x]}\n",
                          sets, 3),
                     0);
    assert_int_equal(c.outputs[0].types, EVE_T_ALERT | EVE_T_TOKEN);
    assert_int_equal(c.alg_mask, 1u << 6);
    assert_int_equal(c.nkeysets, 1);
    assert_string_equal(c.keysets[0].name, "k");
    /* named on the command line: relative to the working directory, not the file */
    assert_string_equal(c.keysets[0].jwks, "rel/k.json");
    assert_int_equal(c.keysets[0].nissuers, 2);
    config_free(&c);
}

static void test_set_new_key(void **state)
{
    (void)state;
    struct config c = {0};
    char err[256];
    const char *sets[] = {"outputs.eve.filename=-", "capture.snaplen=96", "engine.stats-interval=1"};
    assert_int_equal(config_load(&c, NULL, sets, 3, err, sizeof(err)), 0);
    assert_int_equal(c.noutputs, 1);
    assert_string_equal(c.outputs[0].filename, "-");
    assert_int_equal(c.outputs[0].types, EVE_T_ALERT | EVE_T_TOKEN | EVE_T_STATS);
    assert_int_equal(c.snaplen, 96);
    assert_int_equal(c.stats_interval, 1);
    assert_null(c.path);
    config_free(&c);
}

static void test_set_list_outputs(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    const char *sets[] = {"outputs.eve.filename=-", "outputs.eve.token-events=none"};
    assert_int_equal(load(fx, &c,
                          "outputs:\n  - eve-log:\n      filename: a.json\n"
                          "  - eve:\n      filename: b.json\n",
                          sets, 2),
                     0);
    assert_int_equal(c.noutputs, 2);
    assert_string_equal(c.outputs[0].filename, "-");
    assert_int_equal(c.outputs[0].token_events, TOKEN_EVENTS_NONE);
    assert_string_equal(c.outputs[1].filename, "b.json");
    assert_int_equal(c.outputs[1].token_events, TOKEN_EVENTS_ALL);
    config_free(&c);
    /* null outputs become a mapping */
    assert_int_equal(load(fx, &c, "outputs:\n", sets, 1), 0);
    assert_int_equal(c.noutputs, 1);
    assert_string_equal(c.outputs[0].filename, "-");
    config_free(&c);
}

static void test_set_errors(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *set, *expect;
    } cases[] = {
        {"policy.bogus=1", "--set policy.bogus: unknown key"},
        {"bogus=1", "--set bogus: unknown key"},
        {"outputs.eve.colour=red", "--set outputs.eve.colour: unknown key"},
        {"noequals", "--set noequals: expected KEY=VALUE"},
        {"=1", "--set =1: expected KEY=VALUE"},
        {"policy.clock-skew=abc", "--set policy.clock-skew: expected a non-negative integer, "
                                  "got 'abc'"},
        {"outputs.eve.raw-tokens=maybe", "--set outputs.eve.raw-tokens: expected a boolean"},
        {"policy.clock-skew.x=1", "--set policy.clock-skew.x: the value under clock-skew is not "
                                  "a mapping"},
        {"policy..clock-skew=1", "--set policy..clock-skew: malformed key"},
        {"policy.algorithms=[RS256", "--set policy.algorithms: bad value:"},
        {"policy={clock-skew: x}", "--set policy.clock-skew: expected a non-negative integer"},
        {"keysets=[{name: a}]", "--set keysets[0].jwks: missing"},
        {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q=1", "--set a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q: key "
                                                "nested too deep"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config c = {0};
        const char *sets[] = {"policy.clock-skew=1", cases[i].set};
        int rc = load(fx, &c, "policy:\n  max-lifetime: 60\n", sets, 2);
        if (rc != -1 || strncmp(fx->err, cases[i].expect, strlen(cases[i].expect)) != 0)
            fail_msg("case %zu: rc %d, got \"%s\", want prefix \"%s\"", i, rc, fx->err,
                     cases[i].expect);
        config_free(&c);
    }
}

static void assert_str_eq_null(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_same(const struct config *a, const struct config *b)
{
    assert_int_equal(a->noutputs, b->noutputs);
    for (size_t i = 0; i < a->noutputs; i++) {
        const struct eve_output_cfg *x = &a->outputs[i], *y = &b->outputs[i];
        assert_int_equal(x->filetype, y->filetype);
        assert_str_eq_null(x->filename, y->filename);
        assert_int_equal(x->types, y->types);
        assert_int_equal(x->token_events, y->token_events);
        assert_int_equal(x->raw_tokens, y->raw_tokens);
        assert_str_eq_null(x->redis_server, y->redis_server);
        assert_int_equal(x->redis_port, y->redis_port);
        assert_int_equal(x->redis_mode, y->redis_mode);
        assert_str_eq_null(x->redis_key, y->redis_key);
    }
    assert_int_equal(a->nkeysets, b->nkeysets);
    for (size_t i = 0; i < a->nkeysets; i++) {
        assert_string_equal(a->keysets[i].name, b->keysets[i].name);
        assert_string_equal(a->keysets[i].jwks, b->keysets[i].jwks);
        assert_int_equal(a->keysets[i].nissuers, b->keysets[i].nissuers);
        for (size_t j = 0; j < a->keysets[i].nissuers; j++)
            assert_string_equal(a->keysets[i].issuers[j], b->keysets[i].issuers[j]);
    }
    assert_int_equal(a->nrevoked, b->nrevoked);
    for (size_t i = 0; i < a->nrevoked; i++) {
        assert_str_eq_null(a->revoked[i].kid, b->revoked[i].kid);
        assert_str_eq_null(a->revoked[i].x5t, b->revoked[i].x5t);
        assert_str_eq_null(a->revoked[i].sha1, b->revoked[i].sha1);
        assert_str_eq_null(a->revoked[i].jkt, b->revoked[i].jkt);
        assert_str_eq_null(a->revoked[i].reason, b->revoked[i].reason);
    }
    assert_int_equal(a->clock_skew, b->clock_skew);
    assert_int_equal(a->max_lifetime, b->max_lifetime);
    assert_int_equal(a->alg_mask, b->alg_mask);
    assert_int_equal(a->flow_memcap, b->flow_memcap);
    assert_int_equal(a->flow_timeout, b->flow_timeout);
    assert_int_equal(a->flow_closed_timeout, b->flow_closed_timeout);
    assert_int_equal(a->stream_memcap, b->stream_memcap);
    assert_int_equal(a->stream_dir_limit, b->stream_dir_limit);
    assert_int_equal(a->http_max_head, b->http_max_head);
    assert_int_equal(a->vcache_entries, b->vcache_entries);
    assert_int_equal(a->stats_interval, b->stats_interval);
    assert_str_eq_null(a->bpf, b->bpf);
    assert_int_equal(a->snaplen, b->snaplen);
    assert_int_equal(a->buffer_size, b->buffer_size);
    assert_int_equal(a->promisc, b->promisc);
    assert_int_equal(a->immediate, b->immediate);
}

/* Writes a's --dump-config to the fixture's dump.yaml and loads it into b (defaults first). */
static void round_trip(struct fixture *fx, const struct config *a)
{
    struct config b = {0};
    dump_and_load(fx, a, &b);
    assert_same(a, &b);
    config_free(&b);
}

static void test_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    config_defaults(&c);
    round_trip(fx, &c);
    config_free(&c);
    assert_int_equal(load(fx, &c, full_yaml, NULL, 0), 0);
    round_trip(fx, &c);
    config_free(&c);
    /* strings YAML would otherwise read as something else, and non-ASCII text */
    assert_int_equal(load(fx, &c,
                          "outputs: []\nkeysets:\n"
                          "  - name: \"yes\"\n    jwks: \"~\"\n"
                          "    issuers: [\"a \\\"q\\\" \\\\ b\", \"caf\\u00e9 \\U0001F600\", "
                          "\"tab\\there\", \"- x\", \"#c\", \"\\u2028\"]\n"
                          "revoked-keys:\n  - x5t: \"null\"\n    reason: \"\"\n"
                          "policy:\n  algorithms: [Ed25519]\n",
                          NULL, 0),
                     0);
    assert_int_equal(c.noutputs, 0);
    assert_string_equal(c.keysets[0].name, "yes");
    assert_string_equal(c.keysets[0].issuers[1], "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_string_equal(c.revoked[0].reason, "");
    round_trip(fx, &c);
    config_free(&c);
    /* relative paths (config named relative to the cwd) are anchored in the dump */
    char text[] = "keysets:\n  - {name: a, jwks: k.json, issuers: [i]}\n";
    char cwd[4096], want[4200], err[256];
    assert_int_equal(config_load_buffer(&c, "etc/tw.yaml", text, strlen(text), NULL, 0, err,
                                        sizeof(err)),
                     0);
    char dump[160];
    snprintf(dump, sizeof(dump), "%s/dump.yaml", fx->dir);
    FILE *f = fopen(dump, "w");
    config_dump(&c, f);
    fclose(f);
    config_free(&c);
    assert_int_equal(config_load(&c, dump, NULL, 0, err, sizeof(err)), 0);
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "%s/etc/k.json", cwd);
    assert_string_equal(c.keysets[0].jwks, want);
    config_free(&c);
}

/* decode.vxlan-ports / decode.geneve-ports: defaults, lists, empty (tunnel off), --set, errors
 * with line and key, and the --dump-config round trip. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_scalar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_new_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_list_outputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
