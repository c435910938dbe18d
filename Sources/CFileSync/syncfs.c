#define _GNU_SOURCE
#include "CFileSync.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
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

int sf_start_writeback(int fd) {
#ifdef __linux__
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    return 0;
#endif
}

int sf_finish_writeback(int fd) {
#ifdef __linux__
    if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0) return -1;
    return posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 ? 0 : -1;
#else
    (void)fd;
    return 0;
#endif
}

int sf_open_unnamed(const char *dir, unsigned mode) {
#if defined(__linux__) && defined(O_TMPFILE)
    return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, (mode_t)mode);
#else
    (void)dir; (void)mode;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int sf_link_unnamed(int fd, const char *path) {
#ifdef __linux__
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) return 0;
    /* Without /proc: AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH). Errors about the name itself stand. */
    if (errno != ENOENT || access("/proc/self/fd", F_OK) == 0) return -1;
    return linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH);
#else
    (void)fd; (void)path;
    errno = EOPNOTSUPP;
    return -1;
#endif
}
