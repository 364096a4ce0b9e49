/* eve_writer.c — setting up and tearing down a worker's EVE writer (see eve_writer.h); the
 * records themselves are eve.c's, eve_keyset.c's and eve_stats.c's.
 *
 * Pipeline: start-up and capture-file changes, never per packet. Owns the builder's memory and
 * the capture file names until eve_writer_reset().
 */
#include "eve_writer.h"

#include <stdlib.h>
#include <string.h>

#include "output.h"

void eve_writer_init(struct eve_writer *w, const uint64_t *now_us)
{
    memset(w, 0, sizeof(*w));
    jb_init(&w->jb, 4096);
    w->now_us = now_us;
}

void eve_writer_set_outputs(struct eve_writer *w, struct output *outputs, size_t noutputs)
{
    w->outputs = outputs;
    w->noutputs = noutputs;
    w->types = 0;
    for (size_t i = 0; i < noutputs; i++)
        w->types |= outputs[i].cfg->types;
}

void eve_writer_add_pcap(struct eve_writer *w, const char *name)
{
    char *copy = strdup(name); /* as Suricata does, the path as given on the command line */
    char **names = copy ? realloc(w->pcap_names, (w->npcap_names + 1) * sizeof(*names)) : NULL;
    if (!names) {
        free(copy);
        return;
    }
    w->pcap_names = names;
    w->pcap_names[w->npcap_names] = copy;
    w->pcap_index = (uint32_t)w->npcap_names++;
}

void eve_writer_reset(struct eve_writer *w)
{
    jb_release(&w->jb);
    for (size_t i = 0; i < w->npcap_names; i++)
        free(w->pcap_names[i]);
    free(w->pcap_names);
    w->pcap_names = NULL;
    w->npcap_names = 0;
    w->outputs = NULL;
    w->noutputs = 0;
}
