/* keys_cmd.h — `tokenwatch keys show|check` (keys_cmd.c), dispatched by main.c. Private to the
 * command line: only main.c includes it.
 */
#ifndef TW_KEYS_CMD_H
#define TW_KEYS_CMD_H

/* argv[0] is "keys", argv[1] the subcommand. find_config resolves -c (or its absence) as the
 * sensor does. Returns the exit status: 0, 1 (check: findings; show: output failed), 2 usage or
 * configuration error. */
int keys_cmd(int argc, char **argv, const char *(*find_config)(const char *given));

#endif
