/* The QEMU Extended Key Event pseudo-encoding (-258): clients that list it get an empty
 * -258 rectangle back, once, and may then send key events that carry the XT key number
 * along with the keysym (message 255, subtype 0), which QEMU takes layout-independently.
 *
 * Only the wire format lives here: each well-formed event goes to the function given at
 * registration (the front end, which checks the client may act and hands the event to
 * its input sink, input_sink.h); a malformed one closes the client.
 *
 * Threads: register from main before any client exists (libvncserver's extension list is
 * process-wide); the rest on client input threads.
 */
#ifndef VGPU_QEMU_KEY_EVENT_H
#define VGPU_QEMU_KEY_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#define QEMU_EXTENDED_KEY_EVENT (-258)

struct _rfbClientRec;

/* A key event: keycode as the client sent it (unchecked). Client input thread. */
typedef void qemu_key_event_fn(struct _rfbClientRec *cl, uint32_t keysym, uint32_t keycode,
			       bool down);

/* Offer the pseudo-encoding to clients from now on, events going to key. Once per
 * process; later calls change nothing. */
void qemu_key_event_register(qemu_key_event_fn *key);

/* clientGoneHook (both client threads ended): free the client's record of the extension,
 * which libvncserver 0.9.14 never frees. */
void qemu_key_event_client_gone(struct _rfbClientRec *cl);

#endif
