/* utf8.h - the one UTF-8 decoder of the service (strict: no overlong
 * forms, surrogates or code points past U+10FFFF), for the display width
 * of text (api/width.c) and the log's JSON strings (service/log.c). */
#ifndef SHIKAKU_BASE_UTF8_H
#define SHIKAKU_BASE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the valid UTF-8 sequence at s (n > 0 bytes there), its
 * code point into *cp; 0 when s does not start one (*cp then undefined). */
size_t base_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

#endif
