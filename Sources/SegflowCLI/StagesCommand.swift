import ArgumentParser
import Foundation
import SegflowCore
import SegflowEngine
import SegflowGraph

struct StagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stages", abstract: "List every stage type with its ports and params.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Only this type.") var type: String?

    func run() async throws {
        try await guarded {
            let session = try Session(cache: global.cacheRoot, near: FileManager.default.currentDirectoryPath)
            let reg = session.catalog.registry
            if let type, reg[type] == nil {
                throw SegflowError.user("unknown stage type '\(type)'", hint: reg.hint(forUnknownType: type))
            }
            for name in reg.names where type == nil || type == name {
                let d = reg[name]!
                print("\(d.name) v\(d.version) (\(d.granularity.rawValue)\(d.plugin.map { ", plugin \($0)" } ?? "")): \(d.summary)")
                for p in d.inputs { print("  in   \(p.name): \(p.typeName)\(p.optional ? " (optional)" : "")") }
                for p in d.outputs { print("  out  \(p.name): \(p.type.rawValue)") }
                for p in d.params {
                    var s = "  param \(p.name): \(p.type.rawValue)"
                    s += p.defaultValue.map { " = \($0)" } ?? " (required)"
                    if let c = p.choices { s += " one of \(c.joined(separator: "|"))" }
                    if p.min != nil || p.max != nil { s += " in [\(p.min.map { "\($0)" } ?? "")..\(p.max.map { "\($0)" } ?? "")]" }
                    if !p.doc.isEmpty { s += "  -- \(p.doc)" }
                    print(s)
                }
            }
        }
    }
}
