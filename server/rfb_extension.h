/* A client's records of a libvncserver protocol extension (cl->extensions), taken apart
 * when the client is gone: libvncserver 0.9.14 frees neither a record nor its data, so
 * each extension that keeps per-client state ends its own records (client_encoding.c,
 * qemu_key_event.c).
 *
 * Threads: the server's clientGoneHook, after the client's own threads have ended.
 */
#ifndef VGPU_RFB_EXTENSION_H
#define VGPU_RFB_EXTENSION_H

#include <rfb/rfb.h>
#include <stdbool.h>

/* Unlink cl's first record of ext and free it: true with the record's data in *data (now
 * the caller's), false once cl has none left. */
bool rfb_extension_take(rfbClientPtr cl, const rfbProtocolExtension *ext, void **data);

#endif
