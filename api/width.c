/* width.c - how many terminal columns UTF-8 text takes, for the tables of
 * text/plain answers.
 *
 * East Asian Wide and Fullwidth characters (CJK, kana, hangul, fullwidth
 * forms, most emoji) take two columns in a terminal and in a monospaced
 * print-out; combining marks, zero-width characters and variation
 * selectors (a Japanese name may carry an ideographic variation selector,
 * IVS) take none; everything else one.  Ambiguous characters (A) count one,
 * as glibc's wcwidth does. */
#include <stdint.h>

#include "api/internal.h"
#include "base/utf8.h"

/* The W and F ranges of Unicode 14's EastAsianWidth.txt, assigned code
 * points only, with neighbouring ranges joined across unassigned ones (an
 * unassigned code point inside a CJK block is drawn wide if ever drawn). */
static const uint32_t wide[][2] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},
    {0x23E9, 0x23EC},   {0x23F0, 0x23F0},   {0x23F3, 0x23F3},
    {0x25FD, 0x25FE},   {0x2614, 0x2615},   {0x2648, 0x2653},
    {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},
    {0x26CE, 0x26CE},   {0x26D4, 0x26D4},   {0x26EA, 0x26EA},
    {0x26F2, 0x26F3},   {0x26F5, 0x26F5},   {0x26FA, 0x26FA},
    {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},
    {0x2753, 0x2755},   {0x2757, 0x2757},   {0x2795, 0x2797},
    {0x27B0, 0x27B0},   {0x27BF, 0x27BF},   {0x2B1B, 0x2B1C},
    {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x303E},
    {0x3041, 0x3247},   {0x3250, 0x4DBF},   {0x4E00, 0xA4C6},
    {0xA960, 0xA97C},   {0xAC00, 0xD7A3},   {0xF900, 0xFAD9},
    {0xFE10, 0xFE19},   {0xFE30, 0xFE6B},   {0xFF01, 0xFF60},
    {0xFFE0, 0xFFE6},   {0x16FE0, 0x1B2FB}, {0x1F004, 0x1F004},
    {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A},
    {0x1F200, 0x1F320}, {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C},
    {0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA}, {0x1F3CF, 0x1F3D3},
    {0x1F3E0, 0x1F3F0}, {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E},
    {0x1F440, 0x1F440}, {0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D},
    {0x1F54B, 0x1F54E}, {0x1F550, 0x1F567}, {0x1F57A, 0x1F57A},
    {0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4}, {0x1F5FB, 0x1F64F},
    {0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2},
    {0x1F6D5, 0x1F6DF}, {0x1F6EB, 0x1F6EC}, {0x1F6F4, 0x1F6FC},
    {0x1F7E0, 0x1F7F0}, {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945},
    {0x1F947, 0x1F9FF}, {0x1FA70, 0x1FAF6}, {0x20000, 0x2FFFD},
    {0x30000, 0x3FFFD},
};

/* Drawn on the character before them: combining diacritics, zero-width
 * space and joiners, the kana voiced-sound marks, variation selectors. */
static const uint32_t zero[][2] = {
    {0x0300, 0x036F}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},   {0x200B, 0x200F},
    {0x2060, 0x2064}, {0x20D0, 0x20FF}, {0x3099, 0x309A},   {0xFE00, 0xFE0F},
    {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
};

static bool in_table(const uint32_t (*t)[2], size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < t[mid][0])
			hi = mid;
		else if (cp > t[mid][1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

size_t api_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	size_t len = base_utf8_seq((const unsigned char *)s, n, cp);

	if (len)
		return len;
	*cp = 0xFFFD;
	return 1;
}

int api_char_width(uint32_t cp)
{
	if (cp < 0x300)
		return 1;
	if (in_table(zero, sizeof zero / sizeof zero[0], cp))
		return 0;
	return in_table(wide, sizeof wide / sizeof wide[0], cp) ? 2 : 1;
}

size_t api_text_width(const char *s)
{
	size_t n = strlen(s), w = 0, len;
	uint32_t cp;

	while (n > 0) {
		len = api_utf8_decode(s, n, &cp);
		w += (size_t)api_char_width(cp);
		s += len;
		n -= len;
	}
	return w;
}

size_t api_text_prefix(const char *s, size_t cols, size_t *width)
{
	size_t n = strlen(s), used = 0, w = 0, len;
	uint32_t cp;
	int cw;

	while (used < n) {
		len = api_utf8_decode(s + used, n - used, &cp);
		cw = api_char_width(cp);
		if (w + (size_t)cw > cols)
			break;
		w += (size_t)cw;
		used += len;
	}
	if (width)
		*width = w;
	return used;
}
