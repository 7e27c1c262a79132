/* text.h - what the service refuses in text, for api/ and service/ alike:
 * an individual number in any disguise (SPEC §8), and the characters no
 * stored text may hold. */
#ifndef SHIKAKU_API_TEXT_H
#define SHIKAKU_API_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* SPEC §8's reading of the UTF-8 text s[0..len) (a NUL is a character; an
 * invalid sequence reads as U+FFFD): after NFKC, every Unicode decimal
 * digit (category Nd) read as its digit and the separators removed —
 * categories Zs, Pd and Cf, U+30FC, U+FF70, U+301C, U+FF5E and '~' (what
 * NFKC makes of it), U+2212, and . _ / , — the text is exactly 12 digits
 * with a valid check digit.  True also when the text cannot be read for
 * want of memory: refused rather than let through. */
bool api_is_individual_number(const char *s, size_t len);

/* The decimal digits NFKC makes of the character c (a code point) alone:
 * 1 for a digit, 2 for ㉑, 3 for ⅒ ("1⁄10"), 0 for most.  A text holds as
 * many after NFKC as the sum over its characters (no digit is ever part
 * of a composition), so a text with fewer than 12 is read no further.
 * tests/unit/test_text.c checks both over all of Unicode. */
int api_text_nfkc_digits(unsigned long c);

/* The reading of free text (display_name, the registry's names, address
 * and phone, a key's name): the same, or some run of 12 digits inside it
 * (separators allowed between them, another character or an end on either
 * side: "個人番号5022 5853 2061。"). */
bool api_text_has_individual_number(const char *s, size_t len);

/* True when the UTF-8 text s[0..len) holds a character that stored text
 * may not: a C0 control (U+0000-U+001F), DEL, a C1 control
 * (U+0080-U+009F), a bidi override or embedding (U+202A-U+202E) or isolate
 * (U+2066-U+2069).  They would act on a terminal or reorder what a page
 * shows. */
bool api_text_has_control(const char *s, size_t len);

/* True when s[0..len) is an http:// or https:// URL (scheme in any case)
 * with a host, without spaces or control characters. */
bool api_text_url_ok(const char *s, size_t len);

#endif
