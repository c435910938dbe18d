import Foundation
import SegflowCore
import SegflowGraph
import SegflowStore

/// What a stage call left in its scratch folder, checked before any of it enters the store: only
/// regular files with plain names, in the folders of the stage's output ports. A plugin is someone
/// else's code: a link would make an object of a file outside the cache (whose bytes can change under
/// its digest), a file beside the port folders is a write outside the place it was given.
enum StageOutputs {
    /// Moves the outputs into the store: port -> file name -> digest. Throws a node failure (nothing is
    /// committed) for anything else in `scratch`, whose `out/` folder the call wrote to.
    static func ingest(scratch: String, outputDirectory: String, ports: [String], node: String,
                       objects: ObjectStore) throws -> [String: [String: Digest]] {
        let fm = FileManager.default
        func refuse(_ what: String) -> SegflowError {
            .stageFailed(node: node, item: nil, message: "the stage \(what); nothing of this call was kept"
                         + " (a stage writes regular files only, as <outputDir>/<port>/<file>, ports: \(ports.joined(separator: ", ")))")
        }
        let outName = (outputDirectory as NSString).lastPathComponent
        for name in ((try? fm.contentsOfDirectory(atPath: scratch)) ?? []) where name != outName {
            throw refuse("wrote \(name.debugDescription) outside its output folder")
        }
        for name in ((try? fm.contentsOfDirectory(atPath: outputDirectory)) ?? []) where !ports.contains(name) {
            throw refuse("wrote \(name.debugDescription) in its output folder, which is not one of its ports")
        }
        var produced: [String: [String: Digest]] = [:]
        for port in ports {
            let dir = outputDirectory + "/" + port
            var st = stat()
            guard lstat(dir, &st) == 0 else { continue }
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw refuse("made its '\(port)' output a \(kind(st.st_mode)), not a folder") }
            for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                if let problem = FileTree.nameProblem(name) {
                    throw refuse("wrote a '\(port)' file named \(name.debugDescription), which \(problem)")
                }
                let path = dir + "/" + name
                guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                    throw refuse("wrote '\(port)/\(name)' as a \(kind(st.st_mode)), not a regular file")
                }
                produced[port, default: [:]][name] = try objects.ingest(movingFile: path)
            }
        }
        return produced
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFLNK: return "symbolic link"
        case S_IFDIR: return "folder"
        case S_IFIFO: return "named pipe"
        case S_IFSOCK: return "socket"
        case S_IFREG: return "file"
        default: return "special file"
        }
    }
}
