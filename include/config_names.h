/* config_names.h — the enumerated values' names shared by config.c (parsing) and config_dump.c
 * (writing), indexed by the enums of config.h. Internal to the configuration module.
 */
#ifndef TW_CONFIG_NAMES_H
#define TW_CONFIG_NAMES_H

#include "config.h"

#define CFG_NTYPES 7
#define CFG_NFILETYPES 5
#define CFG_NTOKEN_EVENTS 3
#define CFG_NREDIS_MODES 5

extern const char *const cfg_alg_names[POLICY_ALG_COUNT];
extern const char *const cfg_type_names[CFG_NTYPES];
extern const char *const cfg_filetype_names[CFG_NFILETYPES];
extern const char *const cfg_token_event_names[CFG_NTOKEN_EVENTS];
extern const char *const cfg_redis_mode_names[CFG_NREDIS_MODES];
extern const char *const cfg_syslog_facility_names[SYSLOG_FACILITY_COUNT];
extern const char *const cfg_syslog_level_names[SYSLOG_LEVEL_COUNT];

#endif
