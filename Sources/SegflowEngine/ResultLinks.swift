import Foundation
import SegflowCore
import SegflowGraph
import SegflowStore

/// `results/<pipeline>/<stage>/<port>/<file>`: read-only links into the store, refreshed after a run
/// whose outputs differ from the linked ones (a cached run of a 10k-image pipeline rewrites nothing).
///
/// What is linked: every output of a computing stage, and of a source only the files it made itself
/// (annotations it converted from a CSV or polygons, frames it extracted from a video). The dataset
/// files a plain source imports are not linked: they are the user's own files, in the dataset folder
/// already (`segflow lineage` names them); linking them cost a link per file on every first import
/// (12 % of a 20k-file import's CPU) and, for small objects kept inside the index, a file to write out.
///
/// Each file is a hard link to its object (the same read-only inode: no block of its own, and it stays
/// valid when the cache folder is moved, copied with `cp -a` or mounted elsewhere); where a hard link
/// cannot be made (results on another filesystem, an object at the filesystem's link limit, a missing
/// object) it is a symlink with a relative target, `../../../objects/ab/cdef...`, which survives a move
/// of the whole cache too. Absolute symlinks cost a 4 KB block each (the 90-byte target does not fit
/// in the inode) and broke when the cache moved; measured in BENCHMARKS.md.
///
/// A run writes a pipeline's links holding that pipeline's lock (`locks/results-<pipeline>.lock`), so
/// runs of one pipeline finishing at once take turns, and every temporary folder of a pipeline found
/// while holding its lock was left by a run that died: the sweep removes them.
enum ResultLinks {
    /// The file in a results folder recording which outputs it links.
    static let stampName = ".segflow-links"

    static func lockPath(workspace: Workspace, pipeline: String) -> String {
        workspace.locksDirectory + "/results-\(pipeline).lock"
    }

    /// How result files point at their objects.
    enum Style: Sendable {
        /// Hard links, falling back to relative symlinks file by file.
        case hardLinks
        /// Relative symlinks only.
        case symlinks
    }

    static func refresh(workspace: Workspace, pipeline: String, nodes: [NodeSummary], style: Style = .hardLinks) throws {
        try withLock(workspace: workspace, pipeline: pipeline) {
            let fm = FileManager.default
            let base = workspace.resultsDirectory + "/" + pipeline
            let stamp = self.stamp(workspace: workspace, nodes: nodes, style: style)
            if (try? String(contentsOfFile: base + "/" + stampName, encoding: .utf8)) == stamp { return }
            let staging = workspace.resultsDirectory + "/" + Leftovers.name(pipeline, .staging)
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
            try stamp.write(toFile: staging + "/" + stampName, atomically: false, encoding: .utf8)
            for n in nodes { try link(n, workspace: workspace, into: staging + "/" + n.node, style: style) }
            CrashPoint.reached("links")
            try swap(staging, into: base, aside: workspace.resultsDirectory + "/" + Leftovers.name(pipeline, .old))
        }
    }

    /// After a run of part of the pipeline: replaces the links of these nodes only (each node's folder swapped
    /// whole) and drops the stamp, so the next full run checks every link again.
    static func update(workspace: Workspace, pipeline: String, nodes: [NodeSummary], style: Style = .hardLinks) throws {
        try withLock(workspace: workspace, pipeline: pipeline) {
            let base = workspace.resultsDirectory + "/" + pipeline
            try? FileManager.default.removeItem(atPath: base + "/" + stampName)
            for n in nodes {
                // A node id is `stage` or `variant/stage`: its temporary folders sit beside it.
                let target = base + "/" + n.node
                let parent = (target as NSString).deletingLastPathComponent, stage = (target as NSString).lastPathComponent
                let staging = parent + "/" + Leftovers.name(stage, .staging)
                // A plain source that made nothing gets no folder: one an older version linked goes.
                guard try link(n, workspace: workspace, into: staging, style: style) else {
                    try? FileManager.default.removeItem(atPath: target)
                    continue
                }
                try swap(staging, into: target, aside: parent + "/" + Leftovers.name(stage, .old))
            }
        }
    }

    /// Runs `body` holding the pipeline's lock, after sweeping what dead runs left in `results/`.
    private static func withLock(workspace: Workspace, pipeline: String, _ body: () throws -> Void) throws {
        try FileLock.withLock(lockPath(workspace: workspace, pipeline: pipeline)) {
            Leftovers.sweep(workspace: workspace, holding: pipeline)
            try body()
        }
    }

    /// One node's port trees as links under `dir` (a staging folder at the depth of the final one, so a
    /// relative target written here is right once the folder is swapped into place). Each link is made
    /// relative to held-open folders (no path walk per file, no `String` per object name). False when the
    /// node has nothing to link and no folder was made.
    @discardableResult
    private static func link(_ n: NodeSummary, workspace: Workspace, into dir: String, style: Style) throws -> Bool {
        let fm = FileManager.default
        let trees = n.linkedOutputs.filter { !$0.value.files.isEmpty }
        // A plain source that made nothing has no folder (its files are the dataset's own).
        if trees.isEmpty && n.linked != nil { return false }
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let objects = open(workspace.objects.objectsDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if objects >= 0 { close(objects) } }
        for (port, tree) in n.linked == nil ? n.outputs : trees {
            let folder = dir + "/" + port
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let into = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard into >= 0 else { throw SegflowError.internal("cannot open \(folder): \(String(cString: strerror(errno)))") }
            defer { close(into) }
            let up = relativeRoot(of: folder, under: workspace.root) + "objects/"
            for (name, d) in tree.files {
                let hardLink = { ObjectStore.withRelativePath(of: d, { linkat(objects, $0, into, name, 0) }) }
                if style == .hardLinks, objects >= 0 {
                    if hardLink() == 0 { continue }
                    // An inline object (see SmallObjects) has no file to link until it is written out.
                    if errno == ENOENT, (try? workspace.objects.file(of: d)) != nil, hardLink() == 0 { continue }
                } else {
                    _ = try? workspace.objects.file(of: d)
                }
                let hex = d.hex
                symlinkat(up + hex.prefix(2) + "/" + hex.dropFirst(2), into, name)
            }
        }
        return true
    }

    /// `../` once per folder between `folder` and the cache root it lies under.
    static func relativeRoot(of folder: String, under root: String) -> String {
        let depth = folder.dropFirst(root.count).split(separator: "/").count
        return String(repeating: "../", count: depth)
    }

    /// Puts `staging` at `target`, whole: readers see the old or the new set, never half. The old one is
    /// moved `aside` first and then deleted (the pipeline's lock keeps other runs out meanwhile).
    private static func swap(_ staging: String, into target: String, aside: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: target) { try fm.moveItem(atPath: target, toPath: aside) }
        try fm.moveItem(atPath: staging, toPath: target)
        try? fm.removeItem(atPath: aside)
    }

    /// What the links would be: every node's linked port trees and how they are linked. Not where the cache
    /// is: hard links and relative targets stay right when it moves. (Stamps of older versions never match:
    /// v1 of absolute symlinks, v2 with a plain source's dataset files: a first run after the upgrade
    /// rewrites them.)
    static func stamp(workspace: Workspace, nodes: [NodeSummary], style: Style = .hardLinks) -> String {
        var e = HashEncoder(domain: "segflow.links.v3")
        e.append(string: style == .hardLinks ? "hard" : "symbolic")
        for n in nodes.sorted(by: { $0.node < $1.node }) {
            let trees = n.linkedOutputs
            for port in trees.keys.sorted() {
                e.append(string: n.node); e.append(string: port); e.append(digest: trees[port]!.digest)
            }
        }
        return e.finalize().hex + "\n"
    }
}
