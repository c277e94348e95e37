/* Reading a whole input file (a tokenizer, a text to score) safely: the
 * path must name a regular file, checked without blocking (a FIFO or a
 * device is refused, never waited on), of at most `max` bytes. */
#ifndef RYOT_FILE_H
#define RYOT_FILE_H

#include <stddef.h>

/* The file's bytes, NUL-terminated (malloc'd; *size excludes the NUL), or
 * NULL with a message naming the file and `what` it was meant to be. */
char *file_read_all(const char *path, const char *what, size_t max, size_t *size);

#endif
