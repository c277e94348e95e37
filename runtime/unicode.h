/* The Unicode properties the pre-tokenizers split text by.  The table is
 * generated at build time by gen/unicode.lua from Debian's unicode-data
 * (UnicodeData.txt general categories, PropList.txt White_Space), so it
 * does not depend on the C library's locale. */
#ifndef RYOT_UNICODE_H
#define RYOT_UNICODE_H

#include <stdint.h>

enum unicode_flag {
    UNICODE_LETTER = 1,  /* \p{L} */
    UNICODE_NUMBER = 2,  /* \p{N} */
    UNICODE_PUNCT = 4,   /* \p{P} */
    UNICODE_SPACE = 8,   /* \s: the White_Space property */
};

/* Code points first..last all have `flags`; sorted, not overlapping.
 * Code points in no range have no flag. */
struct unicode_range {
    uint32_t first, last;
    uint8_t flags;
};

extern const struct unicode_range unicode_ranges[];
extern const int unicode_n_ranges;

/* The enum unicode_flag bits of code point cp. */
unsigned unicode_flags(uint32_t cp);

#endif
