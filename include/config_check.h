/* config_check.h — start-up checks of a loaded configuration against the command line.
 *
 * config.c checks each key on its own while it parses; these checks need more than one key or
 * something only main() knows (the log directory, -f, the first capture file). main() runs them
 * after config_load() and before any output is opened, so a refused start leaves nothing behind.
 * Each returns 0, or -1 with one message in err naming what is at fault: "-l", "-f", or
 * "FILE:LINE: KEY" ("--set KEY" for a value an override gave) as config.c does.
 */
#ifndef TW_CONFIG_CHECK_H
#define TW_CONFIG_CHECK_H

#include <stdio.h>

#include "config.h"

/* The log directory exists, is a directory and is writable by this process now. Checked when
 * `given` (-l on the command line) or when an output writes a file relative to it. */
int config_check_logdir(const struct config *c, const char *logdir, int given, char *err,
                        size_t errlen);

/* No two outputs write the same file (or both stdout): each record would be written twice. Paths
 * are compared after resolving them against logdir (the directory part through realpath, and by
 * inode when the file exists), so "eve.json", "./eve.json" and its absolute path are one file. */
int config_check_outputs(const struct config *c, const char *logdir, char *err, size_t errlen);

/* Compiles the BPF filter that will be used (cli_bpf from -f, else capture.bpf) for the link type
 * of first_read when that is a regular capture file, else for Ethernet. 0 also when no filter. */
int config_check_bpf(const struct config *c, const char *cli_bpf, const char *first_read,
                     char *err, size_t errlen);

/* Warnings that do not stop start-up, one line each on f ("tokenwatch: warning: ..."): an
 * explicit empty `keysets: []` (nothing is trusted: every JWT is judged issuer_untrusted).
 * Returns how many were written. */
int config_check_warn(const struct config *c, FILE *f);

#endif
