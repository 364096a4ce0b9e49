/* test_config_sections.c — tokenwatch.yaml loading, section by section (config.c and its key
 * table): the decode ports, the verdict keys (keysets, revoked keys, policy), the output keys,
 * every documented minimum refused with file, line and key, and the shipped configuration.
 * The rest of the loader's tests are test_config.c's; the table walk is test_config_keys.c's.
 */
#include "config_fixture.h"

static void test_decode_ports(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    config_defaults(&c);
    assert_int_equal(c.nvxlan_ports, 1);
    assert_int_equal(c.vxlan_ports[0], 4789);
    assert_int_equal(c.ngeneve_ports, 1);
    assert_int_equal(c.geneve_ports[0], 6081);
    config_free(&c);

    assert_int_equal(load(fx, &c, "decode:\n  vxlan-ports: [4789, 8472]\n  geneve-ports: []\n",
                          NULL, 0), 0);
    assert_int_equal(c.nvxlan_ports, 2);
    assert_int_equal(c.vxlan_ports[1], 8472);
    assert_int_equal(c.ngeneve_ports, 0);
    /* dump and load back */
    struct config d = {0};
    dump_and_load(fx, &c, &d);
    assert_int_equal(d.nvxlan_ports, 2);
    assert_int_equal(d.vxlan_ports[0], 4789);
    assert_int_equal(d.vxlan_ports[1], 8472);
    assert_int_equal(d.ngeneve_ports, 0);
    config_free(&d);
    config_free(&c);

    /* an empty value keeps the default; --set replaces the list */
    const char *sets[] = {"decode.geneve-ports=[6081, 7000]"};
    assert_int_equal(load(fx, &c, "decode:\n  vxlan-ports:\n", sets, 1), 0);
    assert_int_equal(c.nvxlan_ports, 1);
    assert_int_equal(c.vxlan_ports[0], 4789);
    assert_int_equal(c.ngeneve_ports, 2);
    assert_int_equal(c.geneve_ports[1], 7000);
    config_free(&c);

    static const struct {
        const char *yaml, *msg;
    } bad[] = {
        {"decode:\n  vxlan-ports: [0]\n", "2: decode.vxlan-ports[0]: expected a port (1 to 65535), got '0'"},
        {"decode:\n  vxlan-ports: [1, 65536]\n", "2: decode.vxlan-ports[1]: expected a port"},
        {"decode:\n  geneve-ports:\n    - 6081\n    - abc\n", "4: decode.geneve-ports[1]: expected a port"},
        {"decode:\n  geneve-ports: [6081, 6081]\n", "2: decode.geneve-ports[1]: duplicate port 6081"},
        {"decode:\n  vxlan-ports: 4789\n", "2: decode.vxlan-ports: expected a list, got '4789'"},
        {"decode:\n  vxlan-ports: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]\n",
         "2: decode.vxlan-ports: at most 16 ports"},
        {"decode:\n  gre-ports: [1]\n", "2: decode.gre-ports: unknown key"},
        {"decode: [4789]\n", "1: decode: expected a mapping"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(load(fx, &c, bad[i].yaml, NULL, 0), -1);
        if (!strstr(fx->err, bad[i].msg))
            fail_msg("case %zu: got '%s', want '%s'", i, fx->err, bad[i].msg);
        /* a failed load leaves the defaults in place */
        assert_int_equal(c.nvxlan_ports, 1);
        config_free(&c);
    }
    const char *bad_set[] = {"decode.vxlan-ports=[x]"};
    assert_int_equal(load(fx, &c, "", bad_set, 1), -1);
    assert_non_null(strstr(fx->err, "--set decode.vxlan-ports[0]: expected a port"));
    config_free(&c);
}

/* The configuration that ships in etc/ must load as it is. */
/* Issue 5: keysets[].audiences / token-types, policy.replay, policy.entra-clouds,
 * engine.verify-cache-memcap — parsed, validated with file/line/key, dumped and loaded back. */
static void test_verdict_keys(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    assert_int_equal(load(fx, &c,
                          "keysets:\n"
                          "  - name: api\n"
                          "    jwks: k.json\n"
                          "    issuers: [\"https://idp.example/\"]\n"
                          "    audiences: [\"api://orders\", orders]\n"
                          "    token-types: [at+jwt]\n"
                          "policy:\n"
                          "  replay: {clients: 5, window: 120, memcap: 1mb}\n"
                          "  entra-clouds:\n"
                          "    - v1: \"https://sts.windows.net/\"\n"
                          "      v2: \"https://login.microsoftonline.us/\"\n"
                          "engine:\n  verify-cache-memcap: 8mb\n",
                          NULL, 0), 0);
    assert_int_equal(c.keysets[0].naudiences, 2);
    assert_string_equal(c.keysets[0].audiences[0], "api://orders");
    assert_string_equal(c.keysets[0].audiences[1], "orders");
    assert_int_equal(c.keysets[0].ntoken_types, 1);
    assert_string_equal(c.keysets[0].token_types[0], "at+jwt");
    assert_int_equal(c.replay_clients, 5);
    assert_int_equal(c.replay_window, 120);
    assert_int_equal(c.replay_memcap, 1u << 20);
    assert_int_equal(c.nclouds, 1);
    assert_string_equal(c.clouds[0].v2, "https://login.microsoftonline.us/");
    assert_int_equal(c.vcache_memcap, 8u << 20);

    struct config d = {0};
    dump_and_load(fx, &c, &d);
    assert_int_equal(d.keysets[0].naudiences, 2);
    assert_string_equal(d.keysets[0].token_types[0], "at+jwt");
    assert_int_equal(d.replay_clients, 5);
    assert_int_equal(d.nclouds, 1);
    assert_string_equal(d.clouds[0].v1, "https://sts.windows.net/");
    assert_int_equal(d.vcache_memcap, 8u << 20);
    config_free(&d);
    config_free(&c);

    /* An empty cloud list turns the equivalence off; clients 0 turns replay detection off. */
    assert_int_equal(load(fx, &c, "policy:\n  entra-clouds: []\n  replay: {clients: 0}\n", NULL, 0),
                     0);
    assert_int_equal(c.nclouds, 0);
    assert_int_equal(c.replay_clients, 0);
    config_free(&c);

    static const struct bad_case bad[] = {
        {"keysets:\n  - name: a\n    jwks: a.json\n    issuers: [i]\n    audiences: []\n",
         "5: keysets[0].audiences: needs at least one audience"},
        {"keysets:\n  - name: a\n    jwks: a.json\n    issuers: [i]\n    token-types: x\n",
         "5: keysets[0].token-types: expected a list, got 'x'"},
        {"policy:\n  replay: {clients: 65}\n", "2: policy.replay.clients: '65' is out of range"},
        {"policy:\n  replay: {window: 0}\n", "2: policy.replay.window: '0' is out of range"},
        {"policy:\n  replay: {bogus: 1}\n", "2: policy.replay.bogus: unknown key"},
        {"policy:\n  entra-clouds:\n    - v1: \"https://sts.windows.net/\"\n",
         "3: policy.entra-clouds[0].v2: missing"},
        {"policy:\n  entra-clouds:\n    - v1: \"http://sts.windows.net/\"\n      v2: \"https://x/\"\n",
         "3: policy.entra-clouds[0].v1: expected an https:// issuer prefix"},
        {"policy:\n  entra-clouds:\n    - v1: \"https://sts.windows.net\"\n      v2: \"https://x/\"\n",
         "3: policy.entra-clouds[0].v1: expected an https:// issuer prefix"},
        {"policy:\n  entra-clouds: {v1: a}\n", "2: policy.entra-clouds: expected a list"},
        {"engine:\n  verify-cache-memcap: 1kb\n", "2: engine.verify-cache-memcap: '1kb' is out of range"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct config b = {0};
        if (load(fx, &b, bad[i].yaml, NULL, 0) == 0)
            fail_msg("case %zu loaded: %s", i, bad[i].yaml);
        if (!strstr(fx->err, bad[i].expect))
            fail_msg("case %zu: got '%s', want '...%s...'", i, fx->err, bad[i].expect);
        config_free(&b);
    }
}

/* Issue 6: output settings (rotation, syslog, queue, ethernet) and sensor-name/sensor-tags,
 * parsed, validated with file/line/key, dumped and loaded back. */
static void test_output_keys(void **state)
{
    struct fixture *fx = *state;
    struct config c = {0};
    assert_int_equal(load(fx, &c,
                          "sensor-name: tap-1\n"
                          "sensor-tags: [dc1, exchange]\n"
                          "outputs:\n"
                          "  - eve:\n"
                          "      filetype: syslog\n"
                          "      identity: tw\n"
                          "      facility: local3\n"
                          "      level: warning\n"
                          "      syslog-socket: /tmp/tw-syslog.sock\n"
                          "      queue-size: 1mb\n"
                          "  - eve:\n"
                          "      filename: e.json\n"
                          "      rotate-size: 10mb\n"
                          "      rotate-interval: 3600\n"
                          "      ethernet: yes\n",
                          NULL, 0), 0);
    assert_string_equal(c.sensor_name, "tap-1");
    assert_int_equal(c.nsensor_tags, 2);
    assert_string_equal(c.sensor_tags[1], "exchange");
    assert_int_equal(c.noutputs, 2);
    assert_int_equal(c.outputs[0].filetype, EVE_FT_SYSLOG);
    assert_string_equal(c.outputs[0].syslog_identity, "tw");
    assert_int_equal(c.outputs[0].syslog_facility, 19);
    assert_int_equal(c.outputs[0].syslog_level, 4);
    assert_string_equal(c.outputs[0].syslog_socket, "/tmp/tw-syslog.sock");
    assert_int_equal(c.outputs[0].queue_size, 1u << 20);
    assert_int_equal(c.outputs[1].syslog_facility, 21); /* default local5 */
    assert_int_equal(c.outputs[1].syslog_level, 6);     /* default info */
    assert_int_equal(c.outputs[1].queue_size, 16u << 20);
    assert_int_equal(c.outputs[1].rotate_size, 10u << 20);
    assert_int_equal(c.outputs[1].rotate_interval, 3600);
    assert_int_equal(c.outputs[1].ethernet, 1);
    assert_int_equal(c.outputs[0].ethernet, 0);

    struct config d = {0};
    dump_and_load(fx, &c, &d);
    assert_string_equal(d.sensor_name, "tap-1");
    assert_int_equal(d.nsensor_tags, 2);
    assert_int_equal(d.outputs[0].syslog_facility, 19);
    assert_int_equal(d.outputs[0].syslog_level, 4);
    assert_string_equal(d.outputs[0].syslog_socket, "/tmp/tw-syslog.sock");
    assert_int_equal(d.outputs[1].rotate_size, 10u << 20);
    assert_int_equal(d.outputs[1].rotate_interval, 3600);
    assert_int_equal(d.outputs[1].ethernet, 1);
    config_free(&d);
    config_free(&c);

    static const struct bad_case bad[] = {
        {"outputs:\n  eve:\n    facility: local9\n", "3: outputs.eve.facility: expected one of"},
        {"outputs:\n  eve:\n    level: loud\n", "3: outputs.eve.level: expected one of"},
        {"outputs:\n  eve:\n    queue-size: 1kb\n", "3: outputs.eve.queue-size: '1kb' is out of range"},
        {"outputs:\n  eve:\n    rotate-size: big\n", "3: outputs.eve.rotate-size: expected a size"},
        {"sensor-tags: []\n", "1: sensor-tags: needs at least one tag"},
        {"sensor-name: [a]\n", "1: sensor-name: expected a string"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct config b = {0};
        if (load(fx, &b, bad[i].yaml, NULL, 0) == 0)
            fail_msg("case %zu loaded: %s", i, bad[i].yaml);
        if (!strstr(fx->err, bad[i].expect))
            fail_msg("case %zu: got '%s', want '...%s...'", i, fx->err, bad[i].expect);
        config_free(&b);
    }
}

/* Every memcap and limit is refused below its documented minimum (README "Engine limits"),
 * naming file, line and key, and accepted at it; an output with no record types and an empty
 * value from --set are errors, not silently "nothing" or "the default". */
static void test_minimums(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        const char *key, *below, *at;
    } lim[] = {
        {"flow-memcap", "1", "128kb"},      {"flow-memcap", "127kb", "131072"},
        {"stream-memcap", "1kb", "64kb"},   {"stream-ooo-limit", "0", "64kb"},
        {"http-max-head", "1023", "1kb"},   {"http-memcap", "1", "64kb"},
        {"defrag-memcap", "65535", "64kb"},
    };
    char yaml[200], want[200];
    for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
        struct config c = {0};
        snprintf(yaml, sizeof(yaml), "# limits\nengine:\n  %s: %s\n", lim[i].key, lim[i].below);
        snprintf(want, sizeof(want), "%s:3: engine.%s: '%s' is out of range (", fx->path,
                 lim[i].key, lim[i].below);
        if (load(fx, &c, yaml, NULL, 0) == 0 || strncmp(fx->err, want, strlen(want)) != 0)
            fail_msg("%s %s: got '%s', want '%s...'", lim[i].key, lim[i].below, fx->err, want);
        config_free(&c);
        snprintf(yaml, sizeof(yaml), "engine:\n  %s: %s\n", lim[i].key, lim[i].at);
        if (load(fx, &c, yaml, NULL, 0) != 0)
            fail_msg("%s %s refused: %s", lim[i].key, lim[i].at, fx->err);
        config_free(&c);
    }
    static const struct bad_case bad[] = {
        {"outputs:\n  eve:\n    types: []\n", "3: outputs.eve.types: needs at least one"},
        {"outputs:\n  - eve: {filename: a.json}\n  - eve:\n      types: []\n",
         "4: outputs[1].eve.types: needs at least one"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct config c = {0};
        if (load(fx, &c, bad[i].yaml, NULL, 0) == 0 || !strstr(fx->err, bad[i].expect))
            fail_msg("case %zu: got '%s', want '...%s...'", i, fx->err, bad[i].expect);
        config_free(&c);
    }
    static const struct {
        const char *set, *expect;
    } sets[] = {
        {"outputs.eve.filename=", "--set outputs.eve.filename: must not be empty"},
        {"engine.flow-memcap=", "--set engine.flow-memcap: expected a size"},
        {"engine.flow-memcap=1kb", "--set engine.flow-memcap: '1kb' is out of range (131072 to"},
        {"outputs.eve.types=[]", "--set outputs.eve.types: needs at least one record type"},
    };
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        struct config c = {0};
        if (load(fx, &c, "", &sets[i].set, 1) == 0 ||
            strncmp(fx->err, sets[i].expect, strlen(sets[i].expect)) != 0)
            fail_msg("--set %s: got '%s', want '%s...'", sets[i].set, fx->err, sets[i].expect);
        config_free(&c);
    }
    /* An empty value is the empty string where one is allowed (capture.bpf: no filter). */
    struct config c = {0};
    const char *empty_bpf = "capture.bpf=";
    assert_int_equal(load(fx, &c, "", &empty_bpf, 1), 0);
    assert_string_equal(c.bpf, "");
    config_free(&c);
    /* keysets: [] loads (main warns), and its line is kept for the warning */
    assert_int_equal(load(fx, &c, "# none\nkeysets: []\n", NULL, 0), 0);
    assert_int_equal(c.nkeysets, 0);
    assert_int_equal(c.keysets_line, 2);
    config_free(&c);
    assert_int_equal(load(fx, &c, "capture:\n  bpf: tcp\n", NULL, 0), 0);
    assert_int_equal(c.bpf_line, 2);
    assert_int_equal(c.keysets_line, -1);
    config_free(&c);
}

static void test_shipped_config(void **state)
{
    (void)state;
    struct config c = {0};
    char err[512];
    const char *path = TW_SOURCE_DIR "/etc/demo/tokenwatch.yaml";
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "skipped: %s not present\n", path);
        skip();
    }
    if (config_load(&c, path, NULL, 0, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_true(c.noutputs >= 1);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decode_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verdict_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minimums, setup, teardown),
        cmocka_unit_test(test_shipped_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
