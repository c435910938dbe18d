import Foundation
import SegflowCore
import SegflowGraph
import SegflowSpec
import SegflowStages

/// The stage types `segflow plan` knows, with the repository's plugins, so params, ports and
/// matrix axes are checked as for a real pipeline. Built once per process.
let registry: StageRegistry = {
    let plugins = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../plugins").standardized.path
    return (try? StageCatalog.standard(pluginRoots: [plugins]).registry) ?? StageRegistry()
}()

let inputFile = NSTemporaryDirectory() + "/segflow-fuzz-\(getpid()).yaml"

/// One pipeline file's bytes through what `segflow plan` does before it touches the cache:
/// YAML (limits on size, depth and aliases), the spec's structure, matrix expansion and the graph.
/// Errors are the expected answer; a crash, a hang or a sanitizer report is the bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipeline(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Through a file, as `segflow plan` reads it: the reader's own checks (encoding, size) are fuzzed too.
    guard FileManager.default.createFile(atPath: inputFile, contents: Data(bytes: data, count: size)) else { return 0 }
    do {
        let spec = try PipelineSpec.load(path: inputFile)
        _ = try PipelineGraph(spec: spec, registry: registry)
    } catch {
        _ = "\(error)"   // every error must also render
    }
    return 0
}
