import Foundation
import SegflowCore
import SegflowGraph
import SegflowStore

/// A result row as a remote stores it: the key -> outputs record a run committed, as JSON.
///
/// The row is trusted as its writers are (Bazel's action cache model): a reader checks that it is
/// well formed and names the key it was asked for, and re-hashes every object it downloads, but cannot
/// check that the outputs are what the stage would compute.
public enum RemoteResultRow {
    static let format = "segflow.result.v1"

    public static func encode(_ r: ResultRecord) -> Data {
        var fields: [String: CanonicalValue] = [
            "format": .string(format), "key": .string(r.key.hex), "node": .string(r.node), "stage": .string(r.stage),
            "outputs": .string(TreeCodec.encode(r.outputs)), "duration": .double(r.duration),
            "params": .string(r.params), "inputs": .string(r.inputs),
        ]
        if let item = r.item { fields["item"] = .string(item) }
        return Data(CanonicalValue.map(fields).json.utf8)
    }

    /// The row for `key`, with `runID` as the local run that adopts it; nil when malformed or for another key.
    public static func decode(_ data: Data, key: Digest, runID: Int64) -> ResultRecord? {
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], o["format"] as? String == format,
              o["key"] as? String == key.hex, let node = o["node"] as? String, let stage = o["stage"] as? String,
              let outputsText = o["outputs"] as? String, let params = o["params"] as? String, let inputs = o["inputs"] as? String
        else { return nil }
        let outputs = TreeCodec.decode(outputsText)
        // A row whose text does not round-trip lost a line (a bad digest): not trusted.
        guard !outputs.isEmpty, TreeCodec.encode(outputs) == outputsText else { return nil }
        return ResultRecord(key: key, node: node, stage: stage, item: o["item"] as? String, outputs: outputs, runID: runID,
                            duration: (o["duration"] as? Double) ?? 0, params: params, inputs: inputs)
    }
}
