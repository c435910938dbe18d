#ifndef SEGFLOW_CFILESYNC_H
#define SEGFLOW_CFILESYNC_H
/* syncfs(2), which Swift's Glibc module does not export (it needs _GNU_SOURCE). */
#ifdef __cplusplus
extern "C" {
#endif

/* Flushes the filesystem holding `fd` and waits for it; 0, or -1 with errno (ENOSYS where there is no syncfs). */
int sf_syncfs(int fd);

#ifdef __cplusplus
}
#endif
#endif
