/* The US keymap: X keysyms (X11/keysymdef.h values) to QKeyCode names (QEMU's
 * qapi/ui.json). */
#include "keymap.h"

#include <stddef.h>
#include <string.h>

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

/* QEMU's qcode -> number map (ui/input-keymap.c, from keycodemapdb) for the names above. */
static const struct {
	const char *qcode;
	uint8_t number;
} numbers[] = {
	{"esc", 0x01}, {"1", 0x02}, {"2", 0x03}, {"3", 0x04}, {"4", 0x05}, {"5", 0x06},
	{"6", 0x07}, {"7", 0x08}, {"8", 0x09}, {"9", 0x0a}, {"0", 0x0b}, {"minus", 0x0c},
	{"equal", 0x0d}, {"backspace", 0x0e}, {"tab", 0x0f}, {"q", 0x10}, {"w", 0x11},
	{"e", 0x12}, {"r", 0x13}, {"t", 0x14}, {"y", 0x15}, {"u", 0x16}, {"i", 0x17},
	{"o", 0x18}, {"p", 0x19}, {"bracket_left", 0x1a}, {"bracket_right", 0x1b},
	{"ret", 0x1c}, {"ctrl", 0x1d}, {"a", 0x1e}, {"s", 0x1f}, {"d", 0x20}, {"f", 0x21},
	{"g", 0x22}, {"h", 0x23}, {"j", 0x24}, {"k", 0x25}, {"l", 0x26}, {"semicolon", 0x27},
	{"apostrophe", 0x28}, {"grave_accent", 0x29}, {"shift", 0x2a}, {"backslash", 0x2b},
	{"z", 0x2c}, {"x", 0x2d}, {"c", 0x2e}, {"v", 0x2f}, {"b", 0x30}, {"n", 0x31},
	{"m", 0x32}, {"comma", 0x33}, {"dot", 0x34}, {"slash", 0x35}, {"shift_r", 0x36},
	{"kp_multiply", 0x37}, {"alt", 0x38}, {"spc", 0x39}, {"caps_lock", 0x3a}, {"f1", 0x3b},
	{"f2", 0x3c}, {"f3", 0x3d}, {"f4", 0x3e}, {"f5", 0x3f}, {"f6", 0x40}, {"f7", 0x41},
	{"f8", 0x42}, {"f9", 0x43}, {"f10", 0x44}, {"num_lock", 0x45}, {"scroll_lock", 0x46},
	{"kp_7", 0x47}, {"kp_8", 0x48}, {"kp_9", 0x49}, {"kp_subtract", 0x4a}, {"kp_4", 0x4b},
	{"kp_5", 0x4c}, {"kp_6", 0x4d}, {"kp_add", 0x4e}, {"kp_1", 0x4f}, {"kp_2", 0x50},
	{"kp_3", 0x51}, {"kp_0", 0x52}, {"kp_decimal", 0x53}, {"sysrq", 0x54}, {"f11", 0x57},
	{"f12", 0x58}, {"kp_equals", 0x59}, {"kp_comma", 0x7e}, {"kp_enter", 0x9c},
	{"ctrl_r", 0x9d}, {"kp_divide", 0xb5}, {"print", 0xb7}, {"alt_r", 0xb8},
	{"pause", 0xc6}, {"home", 0xc7}, {"up", 0xc8}, {"pgup", 0xc9}, {"left", 0xcb},
	{"right", 0xcd}, {"end", 0xcf}, {"down", 0xd0}, {"pgdn", 0xd1}, {"insert", 0xd2},
	{"delete", 0xd3}, {"meta_l", 0xdb}, {"meta_r", 0xdc}, {"menu", 0xdd},
};

uint32_t keymap_qcode_number(const char *qcode)
{
	for (size_t i = 0; qcode && i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (!strcmp(numbers[i].qcode, qcode))
			return numbers[i].number;
	return 0;
}
