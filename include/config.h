/* config.h — tokenwatch.yaml (SPEC §2), loaded with libyaml into struct config.
 *
 * Owns every string and array in struct config; config_free() releases them. Paths inside the
 * file (keysets[].jwks) are resolved relative to the directory of the file naming them. Unknown
 * keys, wrong types and bad values stop start-up with "FILE:LINE: KEY: what is wrong".
 * `--set a.b.c=VALUE` overrides are applied to the parsed document before validation, so they go
 * through the same checks (and an override of an unknown key is an error naming "--set").
 *
 * Each key is one row of the table in sensor/config/config.c (its type, field, default,
 * bounds and how --dump-config writes it): a new key is its field here plus that one row.
 */
#ifndef TW_CONFIG_H
#define TW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum eve_filetype { EVE_FT_REGULAR = 0, EVE_FT_UNIX_DGRAM, EVE_FT_UNIX_STREAM, EVE_FT_SYSLOG,
                    EVE_FT_REDIS };

/* Record types an output writes (outputs.eve.types). */
#define EVE_T_ALERT   0x01u
#define EVE_T_TOKEN   0x02u
#define EVE_T_STATS   0x04u
#define EVE_T_HTTP    0x08u
#define EVE_T_FLOW    0x10u
#define EVE_T_ANOMALY 0x20u
#define EVE_T_KEYSET  0x40u

/* engine.verify-shed (docs/DESIGN.md "Shedding verification"): auto sheds signature checks
 * on live captures only (a file is always judged whole); no never sheds. */
enum verify_shed { VERIFY_SHED_AUTO = 0, VERIFY_SHED_NO };
/* engine.huge-pages (docs/DESIGN.md "Huge pages", hugeheap.h): auto puts the heap on transparent
 * huge pages where the kernel offers them; no leaves malloc as it is. */
enum huge_pages { HUGE_PAGES_AUTO = 0, HUGE_PAGES_NO };
enum token_events { TOKEN_EVENTS_ALL = 0, TOKEN_EVENTS_FIRST, TOKEN_EVENTS_NONE };

struct eve_output_cfg {
    int filetype;          /* enum eve_filetype */
    char *filename;        /* regular: relative to the log dir, "-" = stdout; unix_*: socket */
    uint32_t types;        /* EVE_T_* bits; default alert|token|stats */
    int token_events;      /* enum token_events; default all */
    int raw_tokens;        /* default 0 */
    int line;              /* line in the file, for later error messages */
    char key[64];          /* its key path ("outputs.eve", "outputs[1].eve-log"), for the same */
    /* filetype redis (outputs.eve.redis), stored for the redis writer: */
    char *redis_server;    /* NULL = 127.0.0.1 */
    int redis_port;        /* default 6379 */
    int redis_mode;        /* enum eve_redis_mode; default list */
    char *redis_key;       /* NULL = "tokenwatch" */
    /* regular: rotation (outputs.eve.rotate-size bytes / rotate-interval seconds; 0 = off) */
    uint64_t rotate_size;
    uint32_t rotate_interval;
    /* syslog (Suricata's names): identity (default "tokenwatch"), facility (default local5),
     * level (default info); ours: syslog-socket, the local socket (default /dev/log) */
    char *syslog_identity;
    int syslog_facility;   /* syslog(3) facility code >> 3: 0 kern ... 23 local7 */
    int syslog_level;      /* 0 emerg ... 7 debug */
    char *syslog_socket;
    /* unix_*, syslog, redis: records wait in a bounded queue (outputs.eve.queue-size bytes,
     * default 16 MiB) for a writer thread; when full, records are dropped and counted */
    uint64_t queue_size;
    int ethernet;          /* outputs.eve.ethernet: `ether` object with MAC addresses, default no */
    int enabled;           /* outputs.eve.enabled: read while loading; a disabled output is
                              dropped, so every loaded output has 1 */
};

/* The name of filetype as configured ("regular", "unix_dgram", ...), or "?" for a value no
 * configuration gives. */
const char *config_filetype_name(int filetype);

/* syslog facility and level names, as configured (index = code). */
#define SYSLOG_FACILITY_NAMES {"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", \
    "news", "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron", \
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
#define SYSLOG_FACILITY_COUNT 24
#define SYSLOG_LEVEL_NAMES {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"}
#define SYSLOG_LEVEL_COUNT 8

/* Suricata's redis modes, as written: list = lpush, channel = publish. */
/* capture.fanout: live -j N with one capture handle per worker joined in a kernel fanout group
 * (Linux PACKET_FANOUT), or one capture thread per interface dispatching into rings. auto: fanout
 * where the kernel takes it, else the rings with a one-line note; yes: fanout or no start. */
enum capture_fanout { CAPTURE_FANOUT_AUTO = 0, CAPTURE_FANOUT_YES, CAPTURE_FANOUT_NO };

enum eve_redis_mode { EVE_REDIS_LIST = 0, EVE_REDIS_LPUSH, EVE_REDIS_RPUSH, EVE_REDIS_CHANNEL,
                      EVE_REDIS_PUBLISH };

struct keyset_cfg {
    char *name;
    char *jwks;            /* resolved path */
    char *jwks_uri;        /* keysets[].jwks-uri: where `keys update` fetches jwks from (https) */
    char *discovery;       /* keysets[].discovery: an OIDC discovery document (https) naming the
                              jwks_uri; at most one of the two */
    char **issuers;
    size_t nissuers;
    char **audiences;      /* keysets[].audiences: the token's aud must be one of them (optional) */
    size_t naudiences;
    char **token_types;    /* keysets[].token-types: the header typ must be one of them,
                              compared case-insensitively, "application/" prefix ignored
                              (RFC 7515 §4.1.9); optional */
    size_t ntoken_types;
    int64_t max_lifetime;  /* keysets[].max-lifetime seconds; 0 (default) = policy.max-lifetime */
    int64_t keep_retired;  /* keysets[].keep-retired: seconds `keys update` keeps a key the
                              provider no longer publishes (retired), counted from its last
                              sighting; default 31536000 (365 days), 0 = drop at once */
    int line;
};

/* policy.entra-clouds: an Entra cloud's v1 issuer prefix and its v2 equivalent, e.g.
 * "https://sts.windows.net/" and "https://login.microsoftonline.com/". A v1 iss
 * (PREFIX{tid}/) is checked against a key's v2 `issuer` (PREFIX{tid}/v2.0) through the pair. */
struct entra_cloud_cfg {
    char *v1, *v2;
};

struct revoked_cfg {
    char *kid, *x5t, *sha1, *jkt, *reason; /* NULL when absent; at least one matcher set */
    int line;
};

/* JOSE algorithms policy.algorithms may name, as bits of alg_mask. */
#define POLICY_ALG_NAMES {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", \
                          "ES256", "ES384", "ES512", "EdDSA", "Ed25519", "Ed448"}
#define POLICY_ALG_COUNT 12

/* At most this many ports in decode.vxlan-ports / decode.geneve-ports. */
#define CONFIG_MAX_TUNNEL_PORTS 16

struct config {
    char *path;                     /* file loaded, or NULL for built-in defaults */
    char *sensor_name;              /* sensor-name (Suricata's): EVE `host`; NULL = none */
    char **sensor_tags;             /* sensor-tags: EVE alert.metadata.tags */
    size_t nsensor_tags;
    struct eve_output_cfg *outputs; /* default: one regular eve.json */
    size_t noutputs;
    struct keyset_cfg *keysets;
    size_t nkeysets;
    int keysets_line;               /* line of `keysets:`, 0 from --set, -1 not given (so an
                                       explicit empty list can be warned about) */
    struct revoked_cfg *revoked;
    size_t nrevoked;
    char *revoked_keys_file;        /* revoked-keys-file: indicators one per line (keystore.h's
                                       keystore_add_revoked_file), merged with revoked-keys and
                                       reread on reload; NULL = none */
    int revoked_keys_file_line;     /* its line, 0 from --set, -1 not given */
    int allow_test_keys;            /* allow-test-keys: the sensor starts although a keyset holds
                                       a published test key (testkeys.h); default no */
    /* policy: */
    int64_t clock_skew;             /* default 300 */
    int64_t max_lifetime;           /* default 90000 (README "lifetime_excessive") */
    uint32_t kidless_max;           /* policy.kidless-max-keys, default 8; 0 = off */
    uint32_t alg_mask;              /* bit i = POLICY_ALG_NAMES[i]; default all */
    int verify_observed;            /* policy.verify-observed-keys, default no */
    struct entra_cloud_cfg *clouds; /* policy.entra-clouds; default: public, US Gov, China */
    size_t nclouds;
    uint32_t replay_clients;        /* policy.replay.clients: token_replay when one token comes
                                       from more than this many client addresses; 0 = off;
                                       default 3 */
    uint32_t replay_window;         /* policy.replay.window seconds (packet time), default 600 */
    uint64_t replay_memcap;         /* policy.replay.memcap bytes, default 16 MiB */
    /* engine limits (a section `engine:` in the YAML, all optional): */
    uint64_t flow_memcap;           /* engine.flow-memcap, default 128 MiB */
    uint32_t flow_timeout;          /* engine.flow-timeout seconds, default 120 */
    uint32_t flow_closed_timeout;   /* engine.flow-closed-timeout, default 10 */
    uint64_t stream_memcap;         /* engine.stream-memcap, default 64 MiB */
    uint64_t stream_dir_limit;      /* engine.stream-ooo-limit per direction, default 1 MiB */
    uint64_t http_max_head;         /* engine.http-max-head bytes of one message head, default 64 KiB */
    uint64_t defrag_memcap;         /* engine.defrag-memcap: fragments held, default 32 MiB */
    uint32_t defrag_timeout;        /* engine.defrag-timeout seconds (packet time), default 60 */
    uint64_t body_limit;            /* engine.body-limit: decoded bytes of one body scanned,
                                       default 256 KiB */
    uint32_t inflate_ratio;         /* engine.inflate-ratio: gzip bomb threshold, default 100 */
    uint32_t observed_sets;         /* engine.observed-sets: JWKS/discovery places kept, 256 */
    char **token_headers;           /* tokens.headers: request headers carrying JWTs */
    size_t ntoken_headers;
    uint64_t http_memcap;           /* engine.http-memcap: all buffered heads and pending
                                       transactions together, default 64 MiB */
    uint64_t vcache_entries;        /* engine.verify-cache-entries, default 65536 */
    uint64_t vcache_memcap;         /* engine.verify-cache-memcap: bytes of cached verdicts
                                       (token text + claims), default 64 MiB */
    uint32_t stats_interval;        /* engine.stats-interval seconds (live), default 60 */
    int verify_shed;                /* engine.verify-shed: enum verify_shed, default auto */
    int huge_pages;                 /* engine.huge-pages: enum huge_pages, default auto */
    uint32_t verify_shed_lag;       /* engine.verify-shed-lag ms: a live worker this far behind
                                       the wire sheds signature checks, default 200 */
    /* capture (optional section `capture:`): */
    char *bpf;                      /* capture.bpf, default NULL */
    int bpf_line;                   /* its line, 0 from --set, -1 not given (messages name
                                       it) */
    uint32_t snaplen;               /* capture.snaplen, default 262144 (libpcap's maximum) */
    uint64_t buffer_size;           /* capture.buffer-size bytes, default 0 = libpcap's default */
    int promisc;                    /* capture.promisc, default 1 */
    int immediate;                  /* capture.immediate (pcap immediate mode), default 0 */
    int fanout;                     /* capture.fanout (enum capture_fanout), default auto */
    /* decode (optional section `decode:`): UDP destination ports that carry tunnels; an empty
     * list turns that tunnel off. Handed to struct packet's vxlan_ports/geneve_ports. */
    uint16_t vxlan_ports[CONFIG_MAX_TUNNEL_PORTS];  /* decode.vxlan-ports, default [4789] */
    uint8_t nvxlan_ports;
    uint16_t geneve_ports[CONFIG_MAX_TUNNEL_PORTS]; /* decode.geneve-ports, default [6081] */
    uint8_t ngeneve_ports;
    /* fleet (optional section `fleet:`, include/fleet.h): sensors sharing token sightings and
     * indicators through one Redis. On when fleet.redis.server or fleet.redis.path is given. */
    char *fleet_server;             /* fleet.redis.server (host or address), NULL = not given */
    int fleet_port;                 /* fleet.redis.port, default 6379 */
    char *fleet_path;               /* fleet.redis.path: a unix socket, instead of server/port */
    char *fleet_password;           /* fleet.redis.password (AUTH), NULL = none */
    uint32_t fleet_db;              /* fleet.redis.db (SELECT), default 0 */
    uint32_t fleet_window;          /* fleet.window seconds (packet time), default 3600 */
    uint32_t fleet_clients;         /* fleet.clients: client networks that make a replay, 3 */
    uint32_t fleet_networks;        /* fleet.networks: IPv4 prefix length of a network, 24 */
    uint32_t fleet_networks_v6;     /* fleet.networks-v6: IPv6 prefix length, 64 */
    uint32_t fleet_queue;           /* fleet.queue-size: requests waiting for Redis, 4096 */
    uint32_t fleet_unverified_rate; /* fleet.unverified-rate: sightings a second (packet time) of
                                       tokens whose signature was not verified valid (anyone can
                                       mint those) and of indicators published, default 50;
                                       sightings of verified tokens are not limited */
    uint64_t fleet_memcap;          /* fleet.memcap: the local sighting and indicator tables,
                                       default 4 MiB */
};

/* Built-in defaults into c (which the caller provides; release with config_free). */
void config_defaults(struct config *c);

/* Loads `path` over the defaults, applying `nsets` overrides "a.b.c=VALUE". path may be NULL
 * (defaults + overrides). c must hold a configuration (config_defaults(), an earlier load) or
 * zeroes. On success its old contents are freed and replaced; on failure c is left untouched (a
 * failed reload keeps the running configuration). Returns 0, or -1 with err =
 * "FILE:LINE: KEY: reason", "--set KEY: reason" or "FILE: cannot open: strerror" (KEY is the
 * dotted path, list items as keysets[0]).
 *
 * Values, YAML 1.1 as Suricata reads them: booleans yes/no, true/false, on/off in any case; sizes
 * as bytes or with a binary kb/mb/gb suffix ("64mb"); a plain empty value or `~` means "not
 * given" (the default stays). `outputs` is a mapping {eve: {...}} or Suricata's list of
 * {eve: {...}} (also spelt eve-log); `enabled: no` drops an output.
 *
 * --set: VALUE starting with [ { " or ' is parsed as YAML ("[alert, token]"); anything else is
 * one plain scalar taken verbatim ("-" is the string "-"). Missing mappings along the path are
 * created. Where the path meets a list of mappings the key goes to the first item that has it,
 * else to a new item: `outputs.eve.filename=-` sets the first eve output whether `outputs` is a
 * mapping or a list (eve and eve-log count as one key). A path named by --set (keysets[].jwks)
 * is relative to the working directory, not to the file. */
int config_load(struct config *c, const char *path, const char *const *sets, size_t nsets,
                char *err, size_t errlen);

/* As config_load(), from YAML text in memory; `name` stands for the file in messages and its
 * directory anchors relative paths (fuzzing, tests, embedded defaults). */
int config_load_buffer(struct config *c, const char *name, const char *buf, size_t len,
                       const char *const *sets, size_t nsets, char *err, size_t errlen);

/* Writes the effective configuration as YAML that config_load() accepts back (relative jwks
 * paths are made absolute against the working directory, so the dump can be saved anywhere). */
void config_dump(const struct config *c, FILE *f);

/* Frees every string and array and zeroes them; c may be freed again (a no-op). */
void config_free(struct config *c);

#endif
