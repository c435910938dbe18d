import Foundation
import SegflowCore
import SegflowSpec

/// One stage instance of a pipeline, checked and typed.
public struct GraphNode: Sendable {
    /// The stage name in the pipeline (unique).
    public var id: String
    public var descriptor: StageDescriptor
    /// Complete params: written values, defaults for the rest; `file` params hold absolute paths.
    public var params: [String: CanonicalValue]
    /// input port -> (producing node id, its output port).
    public var inputs: [String: (node: String, port: String)]
    public var location: SourceLocation
    /// Where its calls run: the stage's `executor:` over the pipeline's. Never part of a key.
    public var executor = ExecutorSettings()
    /// Slots a call takes (`cpu`, `gpu`): the stage type's, overridden by the stage's `resources:`.
    public var resources: [String: Int] = ["cpu": 1]
}

/// A validated pipeline: nodes in a topological order.
public struct PipelineGraph: Sendable {
    public var spec: PipelineSpec
    public var nodes: [GraphNode]
    /// The matrix variants (one unnamed variant without a matrix).
    public var variants: [Variant] = []
    /// Per variant: stage name as written -> node id (`cam=gradcampp/heat`; shared nodes keep the bare name).
    public var variantNodes: [Variant: [String: String]] = [:]
    public var name: String { spec.name }
    public var classes: ClassList { spec.classes }

    public func node(_ id: String) -> GraphNode? { nodes.first { $0.id == id } }

    /// The nodes that read an output of `id`, directly.
    public func consumers(of id: String) -> [GraphNode] {
        nodes.filter { n in n.inputs.values.contains { $0.node == id } }
    }

    /// Builds the graph and reports every problem at once: unknown types (with "did you mean"),
    /// params, references, port type mismatches, missing inputs, cycles.
    public init(spec: PipelineSpec, registry: StageRegistry) throws {
        self.spec = spec
        var bag = DiagnosticBag()
        bag.append(contentsOf: spec.diagnostics)
        var built: [GraphNode] = []
        var seen = Set<String>()
        var unique = spec
        unique.stages = spec.stages.filter { seen.insert($0.name).inserted }
        let (axes, variants) = MatrixExpansion.variants(spec.matrix, bag: &bag)
        let (stages, ids) = MatrixExpansion.expand(unique, variants: variants, axes: axes, bag: &bag)
        self.variants = variants
        self.variantNodes = ids
        let byName = Dictionary(stages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for stage in stages {
            guard let d = registry[stage.type] else {
                bag.error("unknown stage type '\(stage.type)'", at: stage.typeLocation,
                          hint: registry.hint(forUnknownType: stage.type))
                continue
            }
            let params = ParamValidation.resolve(stage: stage, descriptor: d, pipeline: spec, bag: &bag)
            var inputs: [String: (node: String, port: String)] = [:]
            for ref in stage.inputs {
                guard let port = d.input(ref.port) else {
                    let names = d.inputs.map(\.name)
                    bag.error("stage type \(d.name) has no input '\(ref.port)'", at: ref.portLocation,
                              hint: Suggest.closest(to: ref.port, in: names).map { "did you mean '\($0)'?" }
                                ?? (names.isEmpty ? "\(d.name) takes no inputs" : "inputs: \(names.joined(separator: ", "))"))
                    continue
                }
                guard let producer = byName[ref.stage] else {
                    bag.error("input '\(ref.port)' refers to unknown stage '\(ref.stage)'", at: ref.location,
                              hint: Suggest.closest(to: ref.stage, in: Array(byName.keys)).map { "did you mean '\($0).\(ref.output)'?" }
                                ?? "stages: \(byName.keys.sorted().joined(separator: ", "))")
                    continue
                }
                if let pd = registry[producer.type] {
                    guard let out = pd.output(ref.output) else {
                        let names = pd.outputs.map(\.name)
                        bag.error("stage '\(ref.stage)' (\(pd.name)) has no output '\(ref.output)'", at: ref.location,
                                  hint: Suggest.closest(to: ref.output, in: names).map { "did you mean '\(ref.stage).\($0)'?" }
                                    ?? "outputs: \(names.joined(separator: ", "))")
                        continue
                    }
                    if !port.accepts(out.type) {
                        bag.error("input '\(ref.port)' of stage '\(stage.name)' expects \(port.typeName), but \(ref.stage).\(ref.output) is \(out.type.rawValue)",
                                  at: ref.location, hint: "connect an output of type \(port.typeName)")
                        continue
                    }
                }
                inputs[ref.port] = (ref.stage, ref.output)
            }
            for port in d.inputs where !port.optional && inputs[port.name] == nil
                && !stage.inputs.contains(where: { $0.port == port.name }) {
                bag.error("stage '\(stage.name)' (\(d.name)) is missing input '\(port.name)' (\(port.typeName))",
                          at: stage.nameLocation, hint: "add 'inputs: {\(port.name): STAGE.PORT}'")
            }
            var resources = d.resources
            for (k, v) in stage.resources {
                guard case .int(let n) = v.resolved, n >= 0 else {
                    bag.error("resource '\(k)' of stage '\(stage.name)' must be a whole number, found \(v.kindDescription)", at: v.location,
                              hint: "e.g. resources: {cpu: 4, gpu: 1}")
                    continue
                }
                resources[k] = Int(n)
            }
            built.append(GraphNode(id: stage.name, descriptor: d, params: params, inputs: inputs, location: stage.nameLocation,
                                   executor: stage.executor.merged(over: spec.executor), resources: resources))
        }
        let ordered = Self.topologicalOrder(built, bag: &bag)
        try bag.throwIfErrors()
        self.nodes = ordered
    }

    /// Kahn's algorithm in written order; a cycle is reported with its path.
    static func topologicalOrder(_ nodes: [GraphNode], bag: inout DiagnosticBag) -> [GraphNode] {
        let index = Dictionary(nodes.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        var indegree = nodes.map { Set($0.inputs.values.compactMap { index[$0.node] }).count }
        var dependants = [[Int]](repeating: [], count: nodes.count)
        for (i, n) in nodes.enumerated() {
            for p in Set(n.inputs.values.compactMap({ index[$0.node] })) { dependants[p].append(i) }
        }
        var ready = (0..<nodes.count).filter { indegree[$0] == 0 }
        var order: [Int] = []
        while !ready.isEmpty {
            let i = ready.removeFirst()
            order.append(i)
            for d in dependants[i] {
                indegree[d] -= 1
                if indegree[d] == 0 { ready.append(d); ready.sort() }
            }
        }
        if order.count < nodes.count {
            // Walk back along inputs from a node left over until a node repeats: that is the cycle.
            let left = Set((0..<nodes.count).filter { !order.contains($0) })
            var path: [Int] = [left.min()!]
            while true {
                let cur = nodes[path.last!]
                guard let next = cur.inputs.values.compactMap({ index[$0.node] }).sorted().first(where: { left.contains($0) }) else { break }
                if let start = path.firstIndex(of: next) {
                    let cycle = Array(path[start...]).reversed().map { nodes[$0].id }
                    bag.error("cycle: \((cycle + [cycle[0]]).joined(separator: " -> "))", at: nodes[next].location,
                              hint: "a stage cannot depend on its own output; remove one of these inputs")
                    break
                }
                path.append(next)
            }
        }
        return order.map { nodes[$0] }
    }
}
