#define _GNU_SOURCE
#include "spawn_tied.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

// Between fork and exec only async-signal-safe calls: the parent has other threads, whose locks
// (malloc's included) the child inherits held.
static void close_from(int low) {
#if defined(__linux__) && defined(SYS_close_range)
    if (syscall(SYS_close_range, (unsigned)low, ~0U, 0) == 0) return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = low; fd < max; fd++) close(fd);
}

int segflow_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

pid_t segflow_spawn_tied(const char *path, char *const argv[], char *const envp[], const char *cwd,
                         int stdin_fd, int stdout_fd, int stderr_fd) {
    // The exec's errno comes back through a close-on-exec pipe: nothing read means exec succeeded.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) { int e = errno; close(report[0]); close(report[1]); errno = e; return -1; }
    if (pid == 0) {
        int err = 0;
#ifdef __linux__
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) err = errno;
        // The parent may have died before the prctl: then nobody would send the signal.
        if (err == 0 && getppid() != parent) _exit(127);
#endif
        // Its own process group, led by it: whatever it forks (and leaves holding its stdout) stays in
        // the group, which the parent kills once the child has exited (before reaping it, so the id
        // cannot be reused meanwhile).
        if (err == 0 && setpgid(0, 0) != 0) err = errno;
        sigset_t none; sigemptyset(&none); sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL); signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL);
        // Everything the child needs moves above 2 first, so dup2 onto 0..2 clobbers nothing still needed.
        int rep = fcntl(report[1], F_DUPFD_CLOEXEC, 3);
        if (rep < 0) _exit(127);
        int fds[3] = {stdin_fd, stdout_fd, stderr_fd};
        for (int i = 0; i < 3 && err == 0; i++) {
            int moved = fcntl(fds[i], F_DUPFD, 3);
            if (moved < 0) err = errno; else fds[i] = moved;
        }
        for (int i = 0; i < 3 && err == 0; i++) if (dup2(fds[i], i) < 0) err = errno;
        // The error pipe on 3 (close-on-exec), nothing else above 2.
        if (err == 0 && rep != 3) { if (dup2(rep, 3) < 0) err = errno; else rep = 3; }
        if (err == 0) {
            fcntl(3, F_SETFD, FD_CLOEXEC);
            close_from(4);
            if (cwd && chdir(cwd) != 0) err = errno;
            if (err == 0) { execve(path, argv, envp); err = errno; }
        }
        ssize_t w = write(rep, &err, sizeof err); (void)w;
        _exit(127);
    }
    close(report[1]);
    int childErr = 0;
    ssize_t n;
    do { n = read(report[0], &childErr, sizeof childErr); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof childErr) {
        int status; while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        errno = childErr; return -1;
    }
    return pid;
}
