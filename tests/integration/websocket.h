/* The WebSocket check: RFB over a WebSocket on the VNC port, as noVNC connects.
 *
 * A raw TCP client sends the HTTP upgrade (RFC 6455, subprotocol "binary"), checks the
 * 101 answer and its Sec-WebSocket-Accept, then does the RFB handshake through WebSocket
 * frames: the server's "RFB 003.008\n", security type None, ServerInit with the size.
 */
#ifndef VNC_CHECK_WEBSOCKET_H
#define VNC_CHECK_WEBSOCKET_H

#include <stdbool.h>
#include <stdint.h>

/* True if all of it worked and ServerInit announced width x height; else says why. */
bool ws_check(int port, uint32_t width, uint32_t height);

/* Sec-WebSocket-Accept for a key (SHA-1 of key + GUID, base64); out needs 29 bytes. */
void ws_accept_for_key(const char *key, char out[29]);

#endif
