/* One error convention for the whole runtime.
 *
 * A function that can fail on bad input records a one-line message with
 * ryot_fail() and returns -1 (or NULL).  The caller either propagates the
 * failure or, at the top (the CLI), prints ryot_last_error() and exits
 * non-zero.  Nothing in the runtime aborts on bad input. */
#ifndef RYOT_ERROR_H
#define RYOT_ERROR_H

/* Record a printf-style message; always returns -1 so callers can write
 * `return ryot_fail("...")`. */
int ryot_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last recorded message ("" if none). */
const char *ryot_last_error(void);

/* Print "PROGRAM: error: MESSAGE" to stderr and exit(1).  CLI only. */
_Noreturn void ryot_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Program name used by ryot_die (set once by main). */
void ryot_set_program_name(const char *name);

#endif
