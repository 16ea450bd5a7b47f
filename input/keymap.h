/* X keysyms to QEMU key codes (QKeyCode names, as QMP's input-send-event takes them), for
 * a US layout. Pure table lookups: any thread.
 *
 * Letters map to their key whatever the case; shifted punctuation and digits map to the
 * key that types them ('!' -> "1", '{' -> "bracket_left") and say that shift is needed,
 * so that input_qmp can press shift around them when the client did not. */
#ifndef VGPU_KEYMAP_H
#define VGPU_KEYMAP_H

#include <stdint.h>

enum keymap_shift { KEYMAP_SHIFT_ANY, KEYMAP_SHIFT_NO, KEYMAP_SHIFT_YES };

/* The QKeyCode name for keysym ("a", "shift", "kp_enter"), or NULL if none. */
const char *keymap_qcode(uint32_t keysym, enum keymap_shift *shift);

/* The QEMU key number (XT scan code, 0xE0-prefixed keys as 0x80 | code: what QMP's
 * {"type":"number"} and D-Bus's Keyboard.Press take) of a QKeyCode name that
 * keymap_qcode() returns, or 0 if none. */
uint32_t keymap_qcode_number(const char *qcode);

#endif
