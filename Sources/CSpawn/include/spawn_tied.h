#ifndef SEGFLOW_SPAWN_TIED_H
#define SEGFLOW_SPAWN_TIED_H
#include <sys/types.h>

/// Starts `path` with `argv` and `envp` in `cwd`, its stdin, stdout and stderr on the given
/// descriptors (every other descriptor closed), tied to the calling thread's process: the child gets
/// SIGKILL when its parent dies, however the parent dies (SIGKILL included), so a killed segflow
/// leaves no worker behind. The child leads a process group of its own (its pid), so the parent can
/// kill what it forked too: `kill(-pid, SIGKILL)`. Returns the child's pid, or -1 with errno set.
///
/// Linux: prctl(PR_SET_PDEATHSIG), which fires when the *thread* that forked ends: call it from a
/// thread that waits for the child. Elsewhere the child is started untied.
pid_t segflow_spawn_tied(const char *path, char *const argv[], char *const envp[], const char *cwd,
                         int stdin_fd, int stdout_fd, int stderr_fd);

/// pipe2(fds, O_CLOEXEC): a pipe no other child inherits (pipe2 is a GNU extension Swift does not see).
int segflow_pipe_cloexec(int fds[2]);

#endif
