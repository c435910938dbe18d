import Foundation
import SegflowCore

/// Text and JSON forms of a lineage.
extension Lineage {
    /// One block per step: node, stage type, item, run and time; the params that differ from the
    /// defaults; each input with the step that produced it, or the dataset file it came from.
    public var text: String {
        var lines = ["\(target): object \(digest.short), produced by:"]
        for s in steps {
            var head = "[\(s.number)] \(s.node)  \(s.stage)\(s.stageVersion.map { " v\($0)" } ?? "")"
            if let n = s.itemCount { head += ", \(n) items" + (s.item.map { " (e.g. \($0))" } ?? "") } else if let item = s.item { head += ", item \(item)" }
            head += "  run \(s.runID)" + (s.runStarted.map { ", \(Self.time($0))" } ?? "")
            lines.append(head)
            if !s.params.isEmpty {
                lines.append("      params: " + s.params.map { p in
                    p.path.map { "\(p.name)=\($0) (\(p.value.replacingOccurrences(of: "\"", with: "").prefix(12)))" } ?? "\(p.name)=\(p.value)"
                }.joined(separator: ", "))
            }
            let width = s.inputs.map(\.port.count).max() ?? 0
            for i in s.inputs {
                let port = i.port.padding(toLength: width, withPad: " ", startingAt: 0)
                if let file = i.datasetFile {
                    lines.append("      \(port) <- dataset file \(file)" + (i.at.isEmpty ? "" : ", at " + i.at.map { "\($0.name) \($0.value)" }.joined(separator: ", ")))
                } else if let n = i.fromStep {
                    lines.append("      \(port) <- [\(n)] \(steps[n - 1].node)")
                } else {
                    lines.append("      \(port) <- \(i.digest.map { String($0.prefix(12)) } ?? "?") (\(i.note ?? "not walked"))")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `{"digest", "steps": [{"depth", "inputs": [{"at"?, "datasetFile"|"digest", "fromStep"?, "note"?, "port"}],
    /// "item", "items"?, "key", "node", "params": [{"name", "path"?, "value"}], "run": {"command", "id", "started"},
    /// "stage", "step", "version"}], "target"}`, keys sorted; param values are the recorded JSON values, and
    /// so are `at`'s (where in a dataset file an item came from: `{"frame": 12, "seconds": 1.2}`).
    public var json: String {
        var bytes: [UInt8] = []
        var w = JSONWriter { bytes += $0 }
        w.beginObject()
        w.key("digest"); w.string(digest.hex)
        w.key("steps"); w.beginArray()
        for s in steps {
            w.beginObject()
            w.key("depth"); w.int(s.depth)
            w.key("inputs"); w.beginArray()
            for i in s.inputs {
                w.beginObject()
                if !i.at.isEmpty {
                    w.key("at"); w.beginObject()
                    for p in i.at { w.key(p.name); w.raw(p.value) }
                    w.endObject()
                }
                if let f = i.datasetFile { w.key("datasetFile"); w.string(f) }
                if let d = i.digest { w.key("digest"); w.string(d) }
                if let n = i.fromStep { w.key("fromStep"); w.int(n) }
                if let note = i.note { w.key("note"); w.string(note) }
                w.key("port"); w.string(i.port)
                w.endObject()
            }
            w.endArray()
            w.key("item"); if let item = s.item { w.string(item) } else { w.null() }
            if let n = s.itemCount { w.key("items"); w.int(n) }
            w.key("key"); w.string(s.key.hex)
            w.key("node"); w.string(s.node)
            w.key("params"); w.beginArray()
            for p in s.params {
                w.beginObject()
                w.key("name"); w.string(p.name)
                if let path = p.path { w.key("path"); w.string(path) }
                w.key("value"); w.raw(p.value)
                w.endObject()
            }
            w.endArray()
            w.key("run"); w.beginObject()
            w.key("command"); if let c = s.runCommand { w.string(c) } else { w.null() }
            w.key("id"); w.int(Int(s.runID))
            w.key("started"); if let t = s.runStarted { w.string(Self.isoTime(t)) } else { w.null() }
            w.endObject()
            w.key("stage"); w.string(s.stage)
            w.key("step"); w.int(s.number)
            w.key("version"); if let v = s.stageVersion { w.int(v) } else { w.null() }
            w.endObject()
        }
        w.endArray()
        w.key("target"); w.string(target)
        w.endObject()
        w.flush()
        return String(decoding: bytes, as: UTF8.self)
    }

    static func time(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return f.string(from: d)
    }

    static func isoTime(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d)
    }
}
