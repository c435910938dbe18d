import CSpawn
import Foundation

/// A child process that dies with segflow: started through `segflow_spawn_tied` (PR_SET_PDEATHSIG on
/// Linux), so a segflow killed with SIGKILL mid-call leaves no plugin worker computing for nobody.
/// Foundation's `Process` cannot ask for that. Create and wait for it on one thread: the signal is
/// tied to the thread that started the child.
final class TiedProcess: @unchecked Sendable {
    /// How a child ended.
    enum Exit: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signalled(let sig): return "was killed by signal \(sig)"
            }
        }
    }

    let pid: pid_t
    /// Write the request here, then close it.
    let stdin: FileHandle
    let stdout: FileHandle
    private let lock = NSLock()
    /// Set once the child has exited and before it is reaped: `kill` never signals a reused pid.
    private var exited = false

    /// Starts `executable` (an absolute path) with `arguments` (argv, the program name first) in
    /// `directory`; stderr goes to `stderr` (or /dev/null).
    init(executable: String, arguments: [String], environment: [String: String], directory: String,
         stderr: Int32?) throws {
        let toChild = try Self.pipe(), fromChild = try Self.pipe()
        let devNull = stderr == nil ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1
        defer { if devNull >= 0 { close(devNull) } }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        let started = segflow_spawn_tied(executable, argv, envp, directory, toChild.read, fromChild.write, stderr ?? devNull)
        let spawnErrno = errno
        close(toChild.read); close(fromChild.write)
        guard started > 0 else {
            close(toChild.write); close(fromChild.read)
            throw SpawnError(message: String(cString: strerror(spawnErrno)))
        }
        pid = started
        stdin = FileHandle(fileDescriptor: toChild.write, closeOnDealloc: true)
        stdout = FileHandle(fileDescriptor: fromChild.read, closeOnDealloc: true)
    }

    struct SpawnError: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// SIGKILL to the child and every process of its group (what it forked), unless it has exited.
    func kill() {
        lock.lock(); defer { lock.unlock() }
        if !exited { Foundation.kill(-pid, SIGKILL); Foundation.kill(pid, SIGKILL) }
    }

    /// Waits for the child to exit, kills what it left in its process group (a child holding its
    /// stdout would otherwise compute on, or sleep, for nobody), and reaps it.
    func waitForExit() -> Exit {
        var info = siginfo_t()
        // Wait without reaping, mark it exited, then reap: a concurrent `kill` cannot hit a recycled pid.
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
        lock.lock(); exited = true; lock.unlock()
        // The unreaped child still holds its pid, and with it the group's id: this reaches only its group.
        Foundation.kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // The wait(2) status word: low 7 bits the signal (0 = a normal exit), the exit code above them.
        let sig = status & 0x7f
        return sig == 0 ? .exited((status >> 8) & 0xff) : .signalled(sig)
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard segflow_pipe_cloexec(&fds) == 0 else { throw SpawnError(message: "pipe: \(String(cString: strerror(errno)))") }
        return (fds[0], fds[1])
    }
}
