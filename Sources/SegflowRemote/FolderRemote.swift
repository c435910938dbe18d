import Foundation
import SegflowCore

/// A remote in a shared folder (NFS, a mounted drive): files written to `tmp/` and renamed into place,
/// so a reader never sees half an object and an interrupted push leaves none.
public struct FolderRemote: RemoteStore {
    public let root: String
    public let displayURL: String

    public init(root: String, displayURL: String) throws {
        self.root = root; self.displayURL = displayURL
        do {
            try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        } catch {
            throw SegflowError.user("remote \(displayURL): cannot create \(root): \(error.localizedDescription)",
                                    hint: "check the folder exists, is mounted and writable")
        }
    }

    public func exists(_ path: String) async throws -> Bool {
        FileManager.default.fileExists(atPath: root + "/" + path)
    }

    public func upload(_ path: String, file: String, size: Int64, sha256: String) async throws {
        let tmp = try temporary()
        do { try FileManager.default.copyItem(atPath: file, toPath: tmp) } catch {
            unlink(tmp)
            throw SegflowError.user("remote \(displayURL): cannot copy \(file): \(error.localizedDescription)")
        }
        try place(tmp, at: path)
    }

    public func upload(_ path: String, data: Data) async throws {
        let tmp = try temporary()
        guard FileManager.default.createFile(atPath: tmp, contents: data) else {
            throw SegflowError.user("remote \(displayURL): cannot write \(tmp)", hint: "check the folder is writable and not full")
        }
        try place(tmp, at: path)
    }

    public func download(_ path: String) async throws -> Data? {
        FileManager.default.contents(atPath: root + "/" + path)
    }

    /// One directory read per folder (the entry types come with the names: no stat per file, which
    /// on NFS is a round trip each).
    public func list(_ prefix: String) async throws -> [String] {
        var out: [String] = []
        func walk(_ rel: String) {
            guard let dir = opendir(root + "/" + rel) else { return }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                switch Int32(entry.pointee.d_type) {
                case Int32(DT_DIR): walk(rel + name + "/")
                case Int32(DT_REG): out.append(rel + name)
                default:
                    // DT_UNKNOWN (some filesystems): ask.
                    var isDir: ObjCBool = false
                    if FileManager.default.fileExists(atPath: root + "/" + rel + name, isDirectory: &isDir) {
                        if isDir.boolValue { walk(rel + name + "/") } else { out.append(rel + name) }
                    }
                }
            }
        }
        walk(prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/")
        return out
    }

    private func temporary() throws -> String { root + "/tmp/\(UUID().uuidString)" }

    private func place(_ tmp: String, at path: String) throws {
        let dest = root + "/" + path
        try? FileManager.default.createDirectory(atPath: (dest as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if rename(tmp, dest) != 0 {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw SegflowError.user("remote \(displayURL): cannot move an upload into \(dest): \(why)")
        }
    }
}
