/* config_dump.c — `tokenwatch --dump-config`: the effective configuration as YAML that
 * config_load() reads back (see config.h). Start-up only; split from config.c, which parses.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_names.h"
#include "yaml_doc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- dump ------------------------------------------------------------------------------- */

static const char *name_of(const char *const *names, size_t n, int i)
{
    return i >= 0 && (size_t)i < n ? names[i] : "invalid";
}

static void dump_mask(FILE *f, const char *const *names, size_t n, uint32_t mask)
{
    const char *sep = "";
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (mask & (1u << i)) {
            fprintf(f, "%s%s", sep, names[i]);
            sep = ", ";
        }
    }
    fputs("]\n", f);
}

/* Relative paths were resolved against the working directory; anchor them so the dump means
 * the same wherever it is saved. */
static void dump_path(FILE *f, const char *p)
{
    char cwd[PATH_MAX];
    if (p[0] != '/' && getcwd(cwd, sizeof(cwd))) {
        size_t n = strlen(cwd) + strlen(p) + 2;
        char *abs = malloc(n);
        if (abs) {
            snprintf(abs, n, "%s/%s", cwd, p);
            yaml_doc_write_string(f, abs);
        } else {
            yaml_doc_write_string(f, p); /* still a valid dump, anchored to the cwd */
        }
        free(abs);
    } else {
        yaml_doc_write_string(f, p);
    }
}

/* "    KEY:\n      - a\n ..." for a list that is set; nothing when it is not. */
static void dump_list(FILE *f, const char *key, char *const *items, size_t n)
{
    if (!n)
        return;
    fprintf(f, "%s:\n", key);
    for (size_t i = 0; i < n; i++) {
        fputs("      - ", f);
        yaml_doc_write_string(f, items[i]);
        fputc('\n', f);
    }
}

static void dump_opt(FILE *f, const char *indent, const char *key, const char *s)
{
    if (!s)
        return;
    fprintf(f, "%s%s: ", indent, key);
    yaml_doc_write_string(f, s);
    fputc('\n', f);
}

void config_dump(const struct config *c, FILE *f)
{
    fputs("%YAML 1.1\n---\n# tokenwatch: effective configuration\n", f);
    dump_opt(f, "", "sensor-name", c->sensor_name);
    dump_list(f, "sensor-tags", c->sensor_tags, c->nsensor_tags);
    fputs(c->noutputs ? "outputs:\n" : "outputs: []\n", f);
    for (size_t i = 0; i < c->noutputs; i++) {
        const struct eve_output_cfg *o = &c->outputs[i];
        fprintf(f, "  - eve:\n      filetype: %s\n",
                name_of(cfg_filetype_names, NELEM(cfg_filetype_names), o->filetype));
        dump_opt(f, "      ", "filename", o->filename);
        fputs("      types: ", f);
        dump_mask(f, cfg_type_names, NELEM(cfg_type_names), o->types);
        fprintf(f, "      token-events: %s\n      raw-tokens: %s\n",
                name_of(cfg_token_event_names, NELEM(cfg_token_event_names), o->token_events),
                o->raw_tokens ? "yes" : "no");
        fprintf(f, "      ethernet: %s\n      queue-size: %" PRIu64 "\n", o->ethernet ? "yes" : "no",
                o->queue_size);
        if (o->rotate_size)
            fprintf(f, "      rotate-size: %" PRIu64 "\n", o->rotate_size);
        if (o->rotate_interval)
            fprintf(f, "      rotate-interval: %" PRIu32 "\n", o->rotate_interval);
        if (o->filetype == EVE_FT_SYSLOG || o->syslog_identity || o->syslog_socket ||
            o->syslog_facility != 21 || o->syslog_level != 6) {
            fprintf(f, "      facility: %s\n      level: %s\n",
                    name_of(cfg_syslog_facility_names, SYSLOG_FACILITY_COUNT, o->syslog_facility),
                    name_of(cfg_syslog_level_names, SYSLOG_LEVEL_COUNT, o->syslog_level));
            dump_opt(f, "      ", "identity", o->syslog_identity);
            dump_opt(f, "      ", "syslog-socket", o->syslog_socket);
        }
        if (o->filetype != EVE_FT_REDIS && !o->redis_server && !o->redis_key &&
            o->redis_port == 6379 && o->redis_mode == EVE_REDIS_LIST)
            continue;
        fprintf(f, "      redis:\n        port: %d\n        mode: %s\n", o->redis_port,
                name_of(cfg_redis_mode_names, NELEM(cfg_redis_mode_names), o->redis_mode));
        dump_opt(f, "        ", "server", o->redis_server);
        dump_opt(f, "        ", "key", o->redis_key);
    }
    fputs(c->nkeysets ? "keysets:\n" : "keysets: []\n", f);
    for (size_t i = 0; i < c->nkeysets; i++) {
        const struct keyset_cfg *k = &c->keysets[i];
        dump_opt(f, "  - ", "name", k->name);
        fputs("    jwks: ", f);
        dump_path(f, k->jwks ? k->jwks : "");
        fputs("\n    issuers:\n", f);
        for (size_t j = 0; j < k->nissuers; j++) {
            fputs("      - ", f);
            yaml_doc_write_string(f, k->issuers[j]);
            fputc('\n', f);
        }
        dump_list(f, "    audiences", k->audiences, k->naudiences);
        dump_list(f, "    token-types", k->token_types, k->ntoken_types);
    }
    fputs(c->nrevoked ? "revoked-keys:\n" : "revoked-keys: []\n", f);
    for (size_t i = 0; i < c->nrevoked; i++) {
        const struct revoked_cfg *r = &c->revoked[i];
        const char *keys[] = {"kid", "x5t", "sha1", "jkt", "reason"};
        const char *vals[] = {r->kid, r->x5t, r->sha1, r->jkt, r->reason};
        const char *indent = "  - ";
        for (size_t j = 0; j < NELEM(keys); j++) {
            dump_opt(f, indent, keys[j], vals[j]);
            indent = vals[j] ? "    " : indent;
        }
    }
    fprintf(f, "policy:\n  verify-observed-keys: %s\n", c->verify_observed ? "yes" : "no");
    fprintf(f, "  clock-skew: %" PRId64 "\n  max-lifetime: %" PRId64 "\n  algorithms: ",
            c->clock_skew, c->max_lifetime);
    dump_mask(f, cfg_alg_names, POLICY_ALG_COUNT, c->alg_mask);
    fprintf(f, "  replay:\n    clients: %" PRIu32 "\n    window: %" PRIu32 "\n    memcap: %" PRIu64
               "\n",
            c->replay_clients, c->replay_window, c->replay_memcap);
    fputs(c->nclouds ? "  entra-clouds:\n" : "  entra-clouds: []\n", f);
    for (size_t i = 0; i < c->nclouds; i++) {
        fputs("    - v1: ", f);
        yaml_doc_write_string(f, c->clouds[i].v1);
        fputs("\n      v2: ", f);
        yaml_doc_write_string(f, c->clouds[i].v2);
        fputc('\n', f);
    }
    fprintf(f,
            "engine:\n  flow-memcap: %" PRIu64 "\n  flow-timeout: %" PRIu32
            "\n  flow-closed-timeout: %" PRIu32 "\n  stream-memcap: %" PRIu64
            "\n  stream-ooo-limit: %" PRIu64 "\n  http-max-head: %" PRIu64
            "\n  http-memcap: %" PRIu64 "\n  body-limit: %" PRIu64 "\n  inflate-ratio: %" PRIu32
            "\n  observed-sets: %" PRIu32 "\n  defrag-memcap: %" PRIu64 "\n  defrag-timeout: %" PRIu32
            "\n  verify-cache-entries: %" PRIu64 "\n  verify-cache-memcap: %" PRIu64
            "\n  stats-interval: %" PRIu32 "\n",
            c->flow_memcap, c->flow_timeout, c->flow_closed_timeout, c->stream_memcap,
            c->stream_dir_limit, c->http_max_head, c->http_memcap, c->body_limit,
            c->inflate_ratio, c->observed_sets, c->defrag_memcap,
            c->defrag_timeout, c->vcache_entries, c->vcache_memcap, c->stats_interval);
    fputs("capture:\n", f);
    dump_opt(f, "  ", "bpf", c->bpf);
    fprintf(f, "  snaplen: %" PRIu32 "\n  buffer-size: %" PRIu64 "\n  promisc: %s\n"
               "  immediate: %s\n",
            c->snaplen, c->buffer_size, c->promisc ? "yes" : "no", c->immediate ? "yes" : "no");
    fputs("decode:\n  vxlan-ports: [", f);
    for (uint8_t i = 0; i < c->nvxlan_ports; i++)
        fprintf(f, "%s%u", i ? ", " : "", (unsigned)c->vxlan_ports[i]);
    fputs("]\n  geneve-ports: [", f);
    for (uint8_t i = 0; i < c->ngeneve_ports; i++)
        fprintf(f, "%s%u", i ? ", " : "", (unsigned)c->geneve_ports[i]);
    fputs("]\n", f);
    fputs("tokens:\n  headers:", f);
    if (!c->ntoken_headers)
        fputs(" []", f);
    for (size_t i = 0; i < c->ntoken_headers; i++) {
        fputs("\n    - ", f);
        yaml_doc_write_string(f, c->token_headers[i]);
    }
    fputs("\n", f);
}
