import Foundation

// MARK: - Directory listing

/// Folder listings by readdir: FileManager costs several times more on 10k-file folders.
public enum Directory {
    /// The names in `path` (no "." or ".." and, unless `hidden`, no dot files), in readdir order, with
    /// whether each is a folder. Throws when the folder cannot be opened.
    public static func entries(of path: String, hidden: Bool = false) throws -> [(name: String, isDirectory: Bool)] {
        guard let dir = opendir(path) else {
            throw SegflowError.user("cannot list \(path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        // d_name is read where it lies, up to its NUL: the record is only as long as the name, and
        // copying the declared 256-byte array can run past the end of readdir's buffer (a crash when
        // that buffer ends a heap mapping, as it may on a worker thread).
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        var out: [(name: String, isDirectory: Bool)] = []
        while let entry = readdir(dir) {
            let name = String(cString: UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self))
            if name == "." || name == ".." || (!hidden && name.hasPrefix(".")) { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var st = stat()
                isDirectory = lstat(path + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            }
            out.append((name, isDirectory))
        }
        return out
    }
}
