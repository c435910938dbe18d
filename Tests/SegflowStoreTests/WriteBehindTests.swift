import Foundation
import XCTest
import SegflowTestSupport
import SegflowCore
@testable import SegflowStore

/// A dataset file's copy is written to disk as it is named and then let go from memory (`WriteBehind`):
/// the bytes stay right, the page cache does not keep a second copy, and no descriptor outlives the next sync.
final class WriteBehindTests: XCTestCase {
    var dir: String!
    override func setUpWithError() throws { dir = try makeTemporaryFolder("writebehind") }

    /// Pages of the file at `path` that are in memory now (mincore over a read-only mapping).
    func residentPages(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw POSIXError(.ENOENT) }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let size = Int(st.st_size), page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { throw POSIXError(.ENOMEM) }
        defer { munmap(map, size) }
        var vec = [UInt8](repeating: 0, count: (size + page - 1) / page)
        guard mincore(map, size, &vec) == 0 else { throw POSIXError(.EINVAL) }
        return vec.filter { $0 & 1 != 0 }.count
    }

    /// The type of the filesystem holding `path`, from the longest mount point above it in /proc/mounts.
    func filesystemType(of path: String) -> String? {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        var best: (point: String, type: String)?
        for line in mounts.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 2 else { continue }
            let point = String(f[1])
            if path == point || path.hasPrefix(point.hasSuffix("/") ? point : point + "/"), point.count > (best?.point.count ?? -1) {
                best = (point, String(f[2]))
            }
        }
        return best?.type
    }

    /// Open descriptors of this process.
    func openDescriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1 }

    func testCopiesAreWrittenOutAndLetGoWhileTheImportGoesOn() throws {
        try XCTSkipIf(filesystemType(of: dir) == "tmpfs", "tmpfs keeps every file in memory: nothing to let go")
        let store = try ObjectStore(root: dir + "/cache")
        // Files of 256 KB, each of its own content: more than the window, so the first ones have been finished.
        let count = WriteBehind.window + 4
        var sources: [(String, Data)] = []
        for k in 0..<count {
            var bytes = Data(count: 256 * 1024)
            bytes.withUnsafeMutableBytes { b in for i in stride(from: 0, to: b.count, by: 8) { b[i] = UInt8(truncatingIfNeeded: i / 8 + k * 31) } }
            let path = dir + "/image-\(k).png"
            try bytes.write(to: URL(fileURLWithPath: path))
            sources.append((path, bytes))
        }
        let before = openDescriptors()
        var digests: [Digest] = []
        for (path, _) in sources { digests.append(try store.ingest(copyingFile: path)) }
        // Up to `window` copies are still held (their writeback may be under way)...
        XCTAssertEqual(openDescriptors() - before, WriteBehind.window)
        // ... and the first ones are on disk and out of memory: a second copy of a dataset is not cached.
        for d in digests.prefix(count - WriteBehind.window) {
            XCTAssertEqual(try residentPages(store.path(of: d)), 0, "object \(d.short) still cached")
        }
        // Every copy reads back as its source, cached or not.
        for (k, d) in digests.enumerated() {
            XCTAssertEqual(d, Digest.of(sources[k].1))
            XCTAssertEqual(try store.read(d), sources[k].1)
        }
        // The barrier closes the rest: nothing is held past an index write.
        try store.durability.makeFilesDurable()
        XCTAssertEqual(openDescriptors(), before)
    }
}
