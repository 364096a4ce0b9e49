/* mapfile.h — capture files read through a memory mapping.
 *
 * libpcap reads a savefile with fread() from a stdio stream: read(2) copies the file into
 * stdio's buffer, fread copies it again into libpcap's packet buffer. mapfile_open() gives
 * libpcap a stream (fopencookie) whose reads are one memcpy from a read-only mapping of the
 * file: no system call per buffer, one copy fewer through the cache (issue 14: the read path
 * was the largest single cost of a run, 18 % of its time, against 7 % in the raw libpcap loop).
 * Every byte still goes through libpcap's own parser (pcap, pcapng, byte orders, checks).
 *
 * What read(2) did and a mapping must still do:
 *   - a file that grows while it is read (a capture still being written) is read to its end
 *     at the time of the read: past the mapped length, reads go to pread(2);
 *   - a file cut shorter while mapped, or an I/O error under the mapping, raises SIGBUS on
 *     the access: a guard (a SIGBUS handler for the copying thread, chained to any other)
 *     turns it into a short read with EIO, which libpcap reports as a damaged file, read up
 *     to the damage, as it would a read(2) error (a read that ended inside the page holding
 *     the new end of file before the fault may have returned that page's zeros past it: the
 *     mapping shows them, and nothing tells a shrink apart until the next page faults);
 *   - memory: pages already read are dropped from the mapping every MAPFILE_DROP bytes, so
 *     the resident size does not grow with the file (the page cache keeps them as before).
 * Anything but a regular file (a FIFO, a character device) gets a plain stdio stream with a
 * MAPFILE_STDIO_BUFFER buffer instead; so does a file whose mapping fails.
 */
#ifndef TW_MAPFILE_H
#define TW_MAPFILE_H

#include <stdio.h>

#define MAPFILE_DROP (1u << 20)          /* bytes read between two drops of their pages */
#define MAPFILE_STDIO_BUFFER (1u << 20)  /* the stdio buffer of a stream that is not mapped */

/* Opens path for reading; NULL with errno set when it cannot be opened. The stream is the
 * caller's (fclose, or pcap_close once libpcap owns it). *mapped (may be NULL) says which kind
 * it is. */
FILE *mapfile_open(const char *path, int *mapped);

#endif
