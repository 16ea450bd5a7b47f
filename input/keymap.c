/* The US keymap: X keysyms (X11/keysymdef.h values) to QKeyCode names (QEMU's
 * qapi/ui.json). */
#include "keymap.h"

#include <stddef.h>

struct keymap_entry {
	uint32_t keysym;
	const char *qcode;
	enum keymap_shift shift;
};

#define N KEYMAP_SHIFT_NO
#define S KEYMAP_SHIFT_YES
#define A KEYMAP_SHIFT_ANY

/* Printable ASCII 0x20..0x7e: the key that types it on a US keyboard. */
static const struct keymap_entry ascii[] = {
	{' ', "spc", A},          {'!', "1", S},         {'"', "apostrophe", S},
	{'#', "3", S},            {'$', "4", S},         {'%', "5", S},
	{'&', "7", S},            {'\'', "apostrophe", N}, {'(', "9", S},
	{')', "0", S},            {'*', "8", S},         {'+', "equal", S},
	{',', "comma", N},        {'-', "minus", N},     {'.', "dot", N},
	{'/', "slash", N},        {'0', "0", N},         {'1', "1", N},
	{'2', "2", N},            {'3', "3", N},         {'4', "4", N},
	{'5', "5", N},            {'6', "6", N},         {'7', "7", N},
	{'8', "8", N},            {'9', "9", N},         {':', "semicolon", S},
	{';', "semicolon", N},    {'<', "comma", S},     {'=', "equal", N},
	{'>', "dot", S},          {'?', "slash", S},     {'@', "2", S},
	{'[', "bracket_left", N}, {'\\', "backslash", N}, {']', "bracket_right", N},
	{'^', "6", S},            {'_', "minus", S},     {'`', "grave_accent", N},
	{'{', "bracket_left", S}, {'|', "backslash", S}, {'}', "bracket_right", S},
	{'~', "grave_accent", S},
};

static const char *const letters[26] = {"a", "b", "c", "d", "e", "f", "g", "h", "i",
					"j", "k", "l", "m", "n", "o", "p", "q", "r",
					"s", "t", "u", "v", "w", "x", "y", "z"};

/* Function, editing, navigation, modifier and keypad keys (0xff00 page and a few). */
static const struct keymap_entry special[] = {
	{0xff08, "backspace", A}, {0xff09, "tab", A},        {0xfe20, "tab", A}, /* ISO_Left_Tab */
	{0xff0d, "ret", A},       {0xff13, "pause", A},      {0xff14, "scroll_lock", A},
	{0xff15, "sysrq", A},     {0xff1b, "esc", A},        {0xffff, "delete", A},
	{0xff50, "home", A},      {0xff51, "left", A},       {0xff52, "up", A},
	{0xff53, "right", A},     {0xff54, "down", A},       {0xff55, "pgup", A},
	{0xff56, "pgdn", A},      {0xff57, "end", A},        {0xff61, "print", A},
	{0xff63, "insert", A},    {0xff67, "menu", A},       {0xff7f, "num_lock", A},
	{0xff8d, "kp_enter", A},  {0xff95, "kp_7", A},       {0xff96, "kp_4", A},
	{0xff97, "kp_8", A},      {0xff98, "kp_6", A},       {0xff99, "kp_2", A},
	{0xff9a, "kp_9", A},      {0xff9b, "kp_3", A},       {0xff9c, "kp_1", A},
	{0xff9d, "kp_5", A},      {0xff9e, "kp_0", A},       {0xff9f, "kp_decimal", A},
	{0xffaa, "kp_multiply", A}, {0xffab, "kp_add", A},   {0xffac, "kp_comma", A},
	{0xffad, "kp_subtract", A}, {0xffae, "kp_decimal", A}, {0xffaf, "kp_divide", A},
	{0xffb0, "kp_0", A},      {0xffb1, "kp_1", A},       {0xffb2, "kp_2", A},
	{0xffb3, "kp_3", A},      {0xffb4, "kp_4", A},       {0xffb5, "kp_5", A},
	{0xffb6, "kp_6", A},      {0xffb7, "kp_7", A},       {0xffb8, "kp_8", A},
	{0xffb9, "kp_9", A},      {0xffbd, "kp_equals", A},
	{0xffbe, "f1", A},        {0xffbf, "f2", A},         {0xffc0, "f3", A},
	{0xffc1, "f4", A},        {0xffc2, "f5", A},         {0xffc3, "f6", A},
	{0xffc4, "f7", A},        {0xffc5, "f8", A},         {0xffc6, "f9", A},
	{0xffc7, "f10", A},       {0xffc8, "f11", A},        {0xffc9, "f12", A},
	{0xffe1, "shift", A},     {0xffe2, "shift_r", A},    {0xffe3, "ctrl", A},
	{0xffe4, "ctrl_r", A},    {0xffe5, "caps_lock", A},  {0xffe7, "meta_l", A},
	{0xffe8, "meta_r", A},    {0xffe9, "alt", A},        {0xffea, "alt_r", A},
	{0xffeb, "meta_l", A},    {0xffec, "meta_r", A},     {0xfe03, "alt_r", A}, /* AltGr */
	{0xff20, "meta_l", A}, /* Multi_key: nearest thing */
};

const char *keymap_qcode(uint32_t keysym, enum keymap_shift *shift)
{
	*shift = KEYMAP_SHIFT_ANY;
	if (keysym >= 'a' && keysym <= 'z')
		return letters[keysym - 'a'];
	if (keysym >= 'A' && keysym <= 'Z')
		return letters[keysym - 'A'];
	for (size_t i = 0; i < sizeof(ascii) / sizeof(ascii[0]); i++)
		if (ascii[i].keysym == keysym) {
			*shift = ascii[i].shift;
			return ascii[i].qcode;
		}
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (special[i].keysym == keysym)
			return special[i].qcode;
	return NULL;
}
