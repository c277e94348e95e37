/* Lookup in the generated property table (see unicode.h). */
#include "unicode.h"

unsigned unicode_flags(uint32_t cp)
{
    int lo = 0, hi = unicode_n_ranges;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (unicode_ranges[mid].last < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < unicode_n_ranges && unicode_ranges[lo].first <= cp ? unicode_ranges[lo].flags : 0;
}
