import Foundation
import SegflowCore

extension PipelineGraph {
    /// The part of the pipeline that `targets` need: the named nodes and everything they read from, in
    /// the same order (`segflow run PIPELINE scorePseudo`, as `make TARGET` or `snakemake TARGET`).
    ///
    /// A target is a node id (`cam=gradcampp/cams`) or a stage name as written in the pipeline, which
    /// names that stage's node in every variant. Unknown targets are a user error with a suggestion.
    public func restricted(to targets: [String]) throws -> PipelineGraph {
        guard !targets.isEmpty else { return self }
        var wanted: [String] = []
        for t in targets {
            if node(t) != nil { wanted.append(t); continue }
            let ids = Set(variantNodes.values.compactMap { $0[t] })
            guard !ids.isEmpty else {
                let names = Array(Set(spec.stages.map(\.name))) + nodes.map(\.id)
                throw SegflowError.user("no stage named '\(t)' in \(spec.file)",
                                        hint: Suggest.closest(to: t, in: names).map { "did you mean '\($0)'?" }
                                            ?? "stages: \(spec.stages.map(\.name).joined(separator: ", "))")
            }
            wanted.append(contentsOf: ids.sorted())
        }
        var keep = Set<String>()
        while let id = wanted.popLast() {
            guard keep.insert(id).inserted, let n = node(id) else { continue }
            wanted.append(contentsOf: n.inputs.values.map(\.node))
        }
        var sub = self
        sub.nodes = nodes.filter { keep.contains($0.id) }
        return sub
    }
}
