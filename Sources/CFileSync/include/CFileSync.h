#ifndef SEGFLOW_CFILESYNC_H
#define SEGFLOW_CFILESYNC_H
/* syncfs(2) and O_TMPFILE + linkat(2), which Swift's Glibc module does not export (they need _GNU_SOURCE). */
#ifdef __cplusplus
extern "C" {
#endif

/* Flushes the filesystem holding `fd` and waits for it; 0, or -1 with errno (ENOSYS where there is no syncfs). */
int sf_syncfs(int fd);

/* Starts writing `fd`'s dirty pages to disk and returns without waiting (sync_file_range's WRITE): the sync
   that must wait for them later finds most already written. Makes nothing durable (no metadata, no disk
   cache flush). 0, or -1 with errno; a no-op returning 0 where there is no such call. */
int sf_start_writeback(int fd);

/* Waits until the writing `sf_start_writeback` started is done, then lets the kernel drop the file's
   cached pages (posix_fadvise DONTNEED): a bulk copy recycles the same memory instead of filling the page
   cache with a second copy of the data. Still makes nothing durable. 0, or -1 with errno. */
int sf_finish_writeback(int fd);

/* A new file with no name on the filesystem of the folder `dir` (O_TMPFILE, write-only, close-on-exec, `mode`): it
   vanishes if the process dies before `sf_link_unnamed` names it. -1 with errno (EOPNOTSUPP, EISDIR or
   EINVAL where the filesystem cannot). */
int sf_open_unnamed(const char *dir, unsigned mode);

/* Gives the unnamed file `fd` the name `path` (on its filesystem); fails with EEXIST when that name
   exists. The caller links it only once it is complete: the name never shows a half-written file. */
int sf_link_unnamed(int fd, const char *path);

#ifdef __cplusplus
}
#endif
#endif
