#define _GNU_SOURCE
#include "CFileSync.h"
#include <errno.h>
#include <unistd.h>

int sf_syncfs(int fd) {
#ifdef __linux__
    return syncfs(fd);
#else
    (void)fd;
    errno = ENOSYS;
    return -1;
#endif
}
