#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

char *file_read_all(const char *path, const char *what, size_t max, size_t *size)
{
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer */
    const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ryot_fail("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0)
        ryot_fail("%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        ryot_fail("%s: is a directory, not a %s", path, what);
    else if (!S_ISREG(st.st_mode))
        ryot_fail("%s: not a regular file (a %s must be one)", path, what);
    else if ((unsigned long long)st.st_size > max)
        ryot_fail("%s: %lld bytes is more than a %s may have (%zu)", path, (long long)st.st_size, what, max);
    else if (!(buf = malloc((size_t)st.st_size + 1)))
        ryot_fail("%s: out of memory reading %lld bytes", path, (long long)st.st_size);
    else {
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            const ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
            if (r <= 0) {
                ryot_fail("%s: read error: %s", path, r < 0 ? strerror(errno) : "the file shrank while reading");
                free(buf);
                buf = NULL;
                break;
            }
            got += (size_t)r;
        }
    }
    close(fd);
    if (buf) {
        buf[st.st_size] = '\0';
        *size = (size_t)st.st_size;
    }
    return buf;
}
