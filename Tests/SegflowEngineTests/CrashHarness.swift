import Foundation
import GRDB
import XCTest
import SegflowImaging
import SegflowStore

/// The real `segflow` binary run as a user runs it, killed and inspected from outside: what the
/// crash-safety, concurrency and disk-full tests (RELIABILITY.md) share.
enum SegflowBinary {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let fixtures = repo + "/Tests/Fixtures/crash"

    /// `$SEGFLOW_TEST_BINARY`, else the release build (`make test` builds it first): a debug segflow
    /// runs the DenseCRF about 50 times slower, too slow for dozens of pipeline runs. A release build
    /// older than the sources would test old code (without the crash points): skipped, saying so.
    static func path() throws -> String {
        if let p = ProcessInfo.processInfo.environment["SEGFLOW_TEST_BINARY"], !p.isEmpty { return p }
        let release = repo + "/.build/release/segflow"
        guard let built = modified(release) else {
            throw XCTSkip("no release segflow: build it with `make release` (make test does), or set SEGFLOW_TEST_BINARY")
        }
        if let newest = newestSource(), newest > built {
            throw XCTSkip("\(release) is older than the sources: rebuild it (`make release`) or set SEGFLOW_TEST_BINARY")
        }
        return release
    }

    private static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    private static func newestSource() -> Date? {
        let fm = FileManager.default
        var newest: Date?
        for sub in ["Sources", "Package.swift"] {
            let base = repo + "/" + sub
            let files = (fm.enumerator(atPath: base)?.allObjects as? [String])?.map { base + "/" + $0 } ?? [base]
            for f in files { if let m = modified(f), newest.map({ m > $0 }) ?? true { newest = m } }
        }
        return newest
    }
}

/// One `segflow` process: output to a log file, a marker in its environment that its children
/// inherit, so the test can find every process it left behind.
final class SegflowRun {
    let process = Process()
    let log: String
    let marker = "segflow-test-" + UUID().uuidString

    init(_ args: [String], in directory: String, environment extra: [String: String] = [:], log: String) throws {
        self.log = log
        process.executableURL = URL(fileURLWithPath: try SegflowBinary.path())
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment
        env["SEGFLOW_TEST_MARKER"] = marker
        env["SEGFLOW_CRASH_AT"] = nil
        for (k, v) in extra { env[k] = v }
        process.environment = env
        FileManager.default.createFile(atPath: log, contents: nil)
        let out = FileHandle(forWritingAtPath: log)
        process.standardOutput = out
        process.standardError = out
        process.standardInput = FileHandle.nullDevice
    }

    func start() throws -> SegflowRun { try process.run(); return self }

    /// How it ended: `nil` exit code means killed by `signal`.
    struct Ending: CustomStringConvertible {
        var code: Int32?
        var signal: Int32?
        var killed: Bool { signal == SIGKILL }
        var description: String { code.map { "exit \($0)" } ?? "signal \(signal ?? 0)" }
    }

    func wait() -> Ending {
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? Ending(code: nil, signal: process.terminationStatus)
            : Ending(code: process.terminationStatus, signal: nil)
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Runs to the end; fails the test unless it exits 0.
    @discardableResult
    static func complete(_ args: [String], in directory: String, environment: [String: String] = [:], log: String,
                         file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let run = try SegflowRun(args, in: directory, environment: environment, log: log).start()
        let end = run.wait()
        XCTAssertEqual(end.code, 0, "segflow \(args.joined(separator: " ")) ended with \(end):\n\(run.output.suffix(3000))",
                       file: file, line: line)
        return run.output
    }

    /// Live (not zombie) processes carrying this run's marker: its children after it died.
    func survivors() -> [Int32] { Self.processes(withMarker: marker) }

    static func processes(withMarker marker: String) -> [Int32] {
        let needle = Data("SEGFLOW_TEST_MARKER=\(marker)".utf8)
        var found: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let env = FileManager.default.contents(atPath: "/proc/\(entry)/environ"),
                  env.range(of: needle) != nil else { continue }
            // A zombie has exited: only its exit status waits for a reaper.
            if let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
               let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "Z" { continue }
            found.append(pid)
        }
        return found
    }

    /// Waits up to `seconds` for every process with the marker to end; returns those still alive.
    func survivors(within seconds: Double) -> [Int32] {
        let deadline = Date().addingTimeInterval(seconds)
        var left = survivors()
        while !left.isEmpty && Date() < deadline { usleep(50_000); left = survivors() }
        return left
    }
}

/// What a cache holds, read from outside the way a person with sqlite3 would.
struct CacheInspection {
    let cache: String

    func withIndex<T>(_ body: (Database) throws -> T) throws -> T {
        var config = Configuration()
        config.busyMode = .timeout(10)
        let queue = try DatabaseQueue(path: cache + "/index.sqlite", configuration: config)
        return try queue.read(body)
    }

    /// `PRAGMA integrity_check`'s rows ("ok" alone when the file is sound).
    func integrity() throws -> [String] {
        guard FileManager.default.fileExists(atPath: cache + "/index.sqlite") else { return ["ok"] }
        return try withIndex { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
    }

    /// Whether the index exists with its tables (a run killed while creating it leaves an empty file).
    func hasSchema() throws -> Bool {
        guard FileManager.default.fileExists(atPath: cache + "/index.sqlite") else { return false }
        return try withIndex { try $0.tableExists("results") && $0.tableExists("run_nodes") && $0.tableExists("folder_prints") }
    }

    /// Every committed result as `node/item` (`node/` for a whole node): result rows, and the items a source
    /// imported (a plain source keeps no result row per item, only its execution record, committed with them).
    func completedItems() throws -> Set<String> {
        guard try hasSchema() else { return [] }
        return Set(try withIndex { db in
            try Row.fetchAll(db, sql: "SELECT node, item FROM results UNION SELECT node, item FROM executions WHERE status = 'ran'")
                .map { "\($0[0] as String)/\(($0[1] as String?) ?? "")" }
        })
    }

    /// Dataset items of source node `node` whose every file is imported (a fingerprint names an object
    /// the store holds), as `node/stem`: a run reuses these without a result row (its planner copies
    /// files in while hashing them, before the import's commit). `filesPerItem` files make an item.
    func importedItems(node: String, under folder: String, filesPerItem: Int) throws -> Set<String> {
        guard try hasSchema() else { return [] }
        // The folder and the folders under it (a dataset's images/ and masks/), a row each.
        let blobs = try withIndex { db in
            try Data.fetchAll(db, sql: "SELECT prints FROM folder_prints WHERE folder >= ? AND folder < ?",
                              arguments: [folder + "/", folder + "/\u{10FFFF}"])
        }
        let inline = try inlineDigests()
        var files: [String: Int] = [:]
        for (name, print) in blobs.flatMap(FolderPrints.decode) {
            guard holds(print.digest.hex, inline: inline) else { continue }
            files[(name as NSString).deletingPathExtension, default: 0] += 1
        }
        return Set(files.filter { $0.value == filesPerItem }.map { "\(node)/\($0.key)" })
    }

    /// Items a run computed (`ran`), as `node/item`.
    func ranItems(run: Int64) throws -> [String] {
        try withIndex { db in
            try Row.fetchAll(db, sql: "SELECT node, item FROM executions WHERE run_id = ? AND status = 'ran'", arguments: [run])
                .map { "\($0[0] as String)/\(($0[1] as String?) ?? "")" }
        }
    }

    func latestRun() throws -> Int64 { try withIndex { try Int64.fetchOne($0, sql: "SELECT MAX(id) FROM runs") ?? 0 } }

    /// A run's output trees: `node.port` -> tree digest.
    func trees(run: Int64) throws -> [String: String] {
        try withIndex { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT node, port, tree FROM run_nodes WHERE run_id = ?", arguments: [run]) {
                out["\(row[0] as String).\(row[1] as String)"] = row[2] as String? ?? "-"
            }
            return out
        }
    }

    /// Digests the index names (result files, run trees, fingerprints marked imported) whose object is
    /// missing: a commit that got ahead of its objects.
    func danglingDigests() throws -> [String] {
        guard try hasSchema() else { return [] }
        let (named, folders) = try withIndex { db in
            (try String.fetchAll(db, sql: """
                SELECT DISTINCT digest FROM result_files UNION SELECT DISTINCT tree FROM run_nodes WHERE tree IS NOT NULL
                """), try Data.fetchAll(db, sql: "SELECT prints FROM folder_prints"))
        }
        let imported = folders.flatMap { FolderPrints.decode($0).values.filter(\.imported).map(\.digest.hex) }
        let inline = try inlineDigests()
        return Set(named + imported).sorted().filter { !holds($0, inline: inline) }
    }

    /// Hex digests of the small objects kept inline in the index (`small_packs`, see SmallPack.swift).
    func inlineDigests() throws -> Set<String> {
        try withIndex { db in
            guard try db.tableExists("small_packs") else { return [] }
            return Set(try Data.fetchAll(db, sql: "SELECT directory FROM small_packs").flatMap { SmallPack.entries($0).map(\.digest.hex) })
        }
    }

    /// Whether the store holds an object: a file under objects/, or an entry of a small pack.
    func holds(_ digest: String, inline: Set<String>) -> Bool {
        inline.contains(digest) || FileManager.default.fileExists(atPath: "\(cache)/objects/\(digest.prefix(2))/\(digest.dropFirst(2))")
    }

    /// Files under tmp/ at any depth (a dead run's scratch and half-written objects, until swept);
    /// empty folders (a finished process's session) are not counted.
    func tmpFiles() -> [String] {
        let base = cache + "/tmp"
        return ((FileManager.default.enumerator(atPath: base)?.allObjects as? [String]) ?? []).filter { path in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: base + "/" + path, isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
    }

    /// `segflow verify`'s count of corrupt objects (it evicts them).
    func verify(in directory: String, log: String) throws -> (checked: Int, corrupt: Int) {
        let out = try SegflowRun.complete(["verify", "--cache", cache], in: directory, log: log)
        guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("checked ") }) else {
            XCTFail("segflow verify printed no summary: \(out)"); return (0, -1)
        }
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return (numbers.first ?? 0, numbers.count > 1 ? numbers[1] : -1)
    }
}

/// A small seeded generator (SplitMix64): a failing trial reproduces from the printed seed.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// `$name` if set, else a fresh seed; printed either way.
    static func seed(_ name: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment[name].flatMap { UInt64($0) } ?? UInt64.random(in: 1...999_999_999)
        print("\(name)=\(seed) (set it to rerun these exact trials)")
        return seed
    }
}

/// Datasets the harness runs on: the fixture's six CamVid images (120x90), whole or cut into tiles.
enum CrashData {
    static let stems = ["0001TP_006690", "0001TP_008460", "0006R0_f02640", "0016E5_00870", "0016E5_04590", "0016E5_06390"]

    /// Each fixture image and its mask cut into a `columns` x `rows` grid: 6 x 12 = 72 items by
    /// default, more than one 64-item chunk of a native stage, so a kill can fall between two commits
    /// of one node.
    static func tiles(into dir: String, columns: Int = 4, rows: Int = 3) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/images", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/masks", withIntermediateDirectories: true)
        for stem in stems {
            let image = try ImageIO.readRGB(path: "\(SegflowBinary.fixtures)/images/\(stem).png")
            let mask = try ImageIO.readMask(path: "\(SegflowBinary.fixtures)/masks/\(stem).png")
            let w = image.width / columns, h = image.height / rows
            for c in 0..<columns {
                for r in 0..<rows {
                    var tile = RGBImage(width: w, height: h)
                    var tileMask = GrayImage(width: w, height: h)
                    for y in 0..<h {
                        for x in 0..<w {
                            let (sx, sy) = (c * w + x, r * h + y)
                            for k in 0..<3 { tile.pixels[(y * w + x) * 3 + k] = image.pixels[(sy * image.width + sx) * 3 + k] }
                            tileMask.pixels[y * w + x] = mask.pixels[sy * mask.width + sx]
                        }
                    }
                    try ImageIO.writePNG(tile, to: "\(dir)/images/\(stem)_\(c)\(r).png")
                    try ImageIO.writePNG(tileMask, to: "\(dir)/masks/\(stem)_\(c)\(r).png")
                }
            }
        }
    }

    /// The fake test plugin's stage on `images/` under `data`, in `mode`; and the environment it needs.
    static func fakePluginPipeline(name: String, data: String, mode: String, counters: String) -> (yaml: String, environment: [String: String]) {
        ("""
        version: 1
        name: \(name)
        classes: [x]
        stages:
          images: {type: imageFolder, params: {images: \(data)/images}}
          labels: {type: fakeLabel, inputs: {images: images.images}, params: {mode: \(mode)}}
        """, ["SEGFLOW_PLUGIN_PATH": SegflowBinary.repo + "/Tests/Fixtures/plugins/fake", "FAKE_COUNTER_DIR": counters])
    }

    /// The native pipeline: dataset import, simulated annotators, the DenseCRF densifier, a score.
    static func nativePipeline(data: String) -> String {
        """
        version: 1
        name: crashnative
        classes: \(SegflowBinary.fixtures)/classes.yaml
        stages:
          data: {type: imageFolder, params: {images: \(data)/images, masks: \(data)/masks}}
          scribbles: {type: maskScribbles, inputs: {masks: data.masks}, params: {minArea: 20}}
          dense: {type: seedCRF, inputs: {images: data.images, scribbles: scribbles.scribbles}}
          boxes: {type: maskBoxes, inputs: {masks: data.masks}, params: {minArea: 20}}
          score: {type: evaluate, inputs: {masks: dense.masks, truth: data.masks}}
        """
    }
}
