import Foundation

// MARK: - Minimal .npy (version 1.0) reading and writing

struct NPYArray {
    var descr: String
    var shape: [Int]
    var data: Data
}

enum NPY {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func read(_ path: String) throws -> NPYArray {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        guard bytes.count > 10, bytes.prefix(6) == Data([0x93]) + Data("NUMPY".utf8) else {
            throw Failure(description: "\(path): not a .npy file")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard header.contains("'fortran_order': False") else {
            throw Failure(description: "\(path): fortran order unsupported")
        }
        let descr = try field(header, "descr")
        let shapeText = try field(header, "shape")
        let shape = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "()"))
            .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return NPYArray(descr: descr, shape: shape, data: bytes.subdata(in: (headerStart + headerLength)..<bytes.count))
    }

    private static func field(_ header: String, _ name: String) throws -> String {
        guard let r = header.range(of: "'\(name)': ") else { throw Failure(description: "no \(name) in header") }
        let rest = header[r.upperBound...]
        if rest.hasPrefix("'") {
            let body = rest.dropFirst()
            return String(body.prefix { $0 != "'" })
        }
        if rest.hasPrefix("(") { return String(rest.prefix { $0 != ")" }) + ")" }
        return String(rest.prefix { $0 != "," })
    }

    static func floats(_ a: NPYArray) throws -> [Float] {
        guard a.descr == "<f4" else { throw Failure(description: "expected <f4, got \(a.descr)") }
        return a.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func bytes(_ a: NPYArray) throws -> [UInt8] {
        guard a.descr == "|u1" else { throw Failure(description: "expected |u1, got \(a.descr)") }
        return [UInt8](a.data)
    }

    /// Writes a C-order array; `descr` is "|u1" or "<f4".
    static func write(_ path: String, descr: String, shape: [Int], payload: Data) throws {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad so that magic (6) + version (2) + length (2) + header ends on 64 bytes, with "\n".
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        let length = header.utf8.count
        out.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        out.append(Data(header.utf8))
        out.append(payload)
        try out.write(to: URL(fileURLWithPath: path))
    }
}
