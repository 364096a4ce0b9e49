/* test_events.c — unit tests for dissectors/decode/events.c, the event table: entry i has id i
 * for every id of enum event_id (dense, unique, in step with the enum); every entry has a type
 * (decode, stream, applayer), a Suricata-style name (decoder.<...> or stream.<...>: lower case,
 * digits, '_' and '.'; applayer: libhtp's upper-case names for HTTP/1, the snake-case names of
 * Suricata's Rust parsers for HTTP/2) and a text; names are unique; a
 * decoder name's layer part is its EVE layer; ids out of range read as EV_NONE; and the names
 * EVE has always printed for a sample of events, Suricata's among them, stay as they were. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"

static void test_dense_unique(void **state)
{
    (void)state;
    int seen[EV__COUNT] = {0};
    for (unsigned i = 0; i < EV__COUNT; i++) {
        const struct event_info *e = events_get(i);
        assert_non_null(e);
        if (e->id != i)
            fail_msg("entry %u has id %u: the table is out of step with enum event_id", i, e->id);
        assert_true(e->id < EV__COUNT);
        assert_int_equal(seen[e->id], 0);
        seen[e->id] = 1;
    }
    for (unsigned i = 0; i < EV__COUNT; i++)
        assert_int_equal(seen[i], 1);
}

static void test_names_texts(void **state)
{
    (void)state;
    for (unsigned i = 0; i < EV__COUNT; i++) {
        const struct event_info *e = events_get(i);
        assert_non_null(e->name);
        assert_non_null(e->text);
        if (!e->text[0])
            fail_msg("event %s has no text", e->name);
        assert_non_null(e->type);
        if (!strcmp(e->type, "applayer")) {
            /* as Suricata prints them: libhtp's in upper case and '_', its Rust parsers' (HTTP/2)
             * in lower case, digits and '_' (invalid_http1_settings); one case per name */
            int upper = e->name[0] >= 'A' && e->name[0] <= 'Z';
            for (const char *p = e->name; *p; p++)
                if (!((upper ? (*p >= 'A' && *p <= 'Z')
                             : ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) ||
                      *p == '_'))
                    fail_msg("event %u: name \"%s\" has '%c'", i, e->name, *p);
            assert_string_equal(e->layer, "proto_parser");
        } else {
            const char *prefix = !strcmp(e->type, "decode") ? "decoder." : "stream.";
            if (strcmp(e->type, "decode") && strcmp(e->type, "stream"))
                fail_msg("event %u: type \"%s\" is not decode, stream or applayer", i, e->type);
            if (strncmp(e->name, prefix, strlen(prefix)) != 0 || !e->name[strlen(prefix)])
                fail_msg("event %u: name \"%s\" is not %s<...>", i, e->name, prefix);
            for (const char *p = e->name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                      *p == '.'))
                    fail_msg("event %u: name \"%s\" has '%c'", i, e->name, *p);
        }
        for (unsigned k = 0; k < i; k++)
            if (!strcmp(events_get(k)->name, e->name))
                fail_msg("events %u and %u share the name %s", k, i, e->name);
    }
}

/* decoder.<layer>.<what>: the middle part is the layer EVE prints beside it ('-' written as
 * '_'). Suricata's decoder.too_many_layers has no layer part; ours says "tunnel". */
static void test_layers(void **state)
{
    (void)state;
    assert_null(events_get(EV_NONE)->layer);
    for (unsigned i = 1; i < EV__COUNT; i++) {
        const struct event_info *e = events_get(i);
        if (strcmp(e->type, "decode")) { /* stream: no layer; applayer: proto_parser */
            if (!strcmp(e->type, "stream"))
                assert_null(e->layer);
            continue;
        }
        if (!e->layer || !e->layer[0])
            fail_msg("event %s has no layer", e->name);
        if (i == EV_TOO_MANY_LAYERS) {
            assert_string_equal(e->layer, "tunnel");
            continue;
        }
        const char *mid = e->name + 8, *dot = strchr(mid, '.');
        assert_non_null(dot);
        size_t n = strlen(e->layer);
        assert_int_equal((size_t)(dot - mid), n);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(mid[k], e->layer[k] == '-' ? '_' : e->layer[k]);
    }
}

static void test_out_of_range(void **state)
{
    (void)state;
    assert_ptr_equal(events_get(EV__COUNT), events_get(EV_NONE));
    assert_ptr_equal(events_get(~0u), events_get(EV_NONE));
    assert_string_equal(events_get(EV_NONE)->name, "decoder.unknown");
    assert_string_equal(events_text(EV__COUNT + 7), events_get(EV_NONE)->text);
}

/* What EVE prints for some events, as it printed before ids existed: Suricata's names where it
 * has the event, ours (decoder.<layer>.<what>) elsewhere. */
static void test_names_kept(void **state)
{
    (void)state;
    static const struct {
        unsigned id;
        const char *name, *layer;
    } want[] = {
        {EV_ETHERNET_PKT_TOO_SMALL, "decoder.ethernet.pkt_too_small", "ethernet"},
        {EV_IPV4_PKT_TOO_SMALL, "decoder.ipv4.pkt_too_small", "ipv4"},
        {EV_IPV4_IPLEN_SMALLER_THAN_HLEN, "decoder.ipv4.iplen_smaller_than_hlen", "ipv4"},
        {EV_IPV6_TRUNC_EXTHDR, "decoder.ipv6.trunc_exthdr", "ipv6"},
        {EV_TCP_HLEN_TOO_SMALL, "decoder.tcp.hlen_too_small", "tcp"},
        {EV_TOO_MANY_LAYERS, "decoder.too_many_layers", "tunnel"},
        {EV_C_HDLC_HEADER_TRUNCATED, "decoder.c_hdlc.header_truncated", "c-hdlc"},
        {EV_GRE_VERSION_1_PPTP, "decoder.gre.version_1__pptp_", "gre"},
        {EV_GENEVE_OPTIONS_TRUNCATED, "decoder.geneve.options_truncated", "geneve"},
        {EV_IP_VERSION_INVALID, "decoder.ip.version_invalid", "ip"},
        {EV_HTTP_REQUEST_HEADER_INVALID, "REQUEST_HEADER_INVALID", "proto_parser"},
        {EV_HTTP2_INVALID_FRAME_HEADER, "invalid_frame_header", "proto_parser"},
        {EV_HTTP2_TOO_MANY_STREAMS, "too_many_streams", "proto_parser"},
        {EV_HTTP2_REASSEMBLY_LIMIT_REACHED, "reassembly_limit_reached", "proto_parser"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_string_equal(events_get(want[i].id)->name, want[i].name);
        assert_string_equal(events_get(want[i].id)->layer, want[i].layer);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_unique),
        cmocka_unit_test(test_names_texts),
        cmocka_unit_test(test_layers),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_names_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
