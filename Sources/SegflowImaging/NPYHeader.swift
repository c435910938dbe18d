import Foundation

/// The parsed header of a `.npy` file: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
struct NPYHeader {
    var shape: [Int]
    var isDouble: Bool
    var littleEndian: Bool
    var dataOffset: Int

    static func parse(_ bytes: Data, name: String) throws -> NPYHeader {
        func fail(_ problem: String, _ hint: String = "write it with numpy.save (float32, C order)") -> ImagingError {
            ImagingError(.unsupported, path: name, problem: problem, hint: hint)
        }
        let b = [UInt8](bytes.prefix(12))
        guard b.count >= 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8) else {
            let hex = b.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw ImagingError(.notAnImage, path: name,
                               problem: bytes.isEmpty ? "empty file (0 bytes)" : "not a .npy file (starts with \(hex))",
                               hint: "write it with numpy.save")
        }
        let major = b[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(b[8]) | Int(b[9]) << 8
            start = 10
        case 2, 3:
            guard b.count >= 12 else { throw fail("truncated .npy header", "write the file again") }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            start = 12
        default:
            throw fail(".npy format version \(major).\(b[7]) is not supported (1.0 to 3.0 are)")
        }
        guard bytes.count >= start + headerLength else {
            throw ImagingError(.corrupt, path: name, problem: "truncated .npy header", hint: "write the file again")
        }
        let text = String(decoding: bytes[bytes.startIndex + start ..< bytes.startIndex + start + headerLength],
                          as: UTF8.self)
        guard let descr = value(of: "descr", in: text), let fortran = value(of: "fortran_order", in: text),
              let shapeText = value(of: "shape", in: text) else {
            throw ImagingError(.corrupt, path: name, problem: "unreadable .npy header \(text.debugDescription)",
                               hint: "write it with numpy.save")
        }
        let dtype = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        let endian: Bool
        switch dtype {
        case "<f4", "<f8": endian = true
        case ">f4", ">f8": endian = false
        default:
            throw fail("dtype \(dtype) is not supported (float32 or float64 are)",
                       "convert with array.astype(numpy.float32) before numpy.save")
        }
        if fortran != "False" {
            throw fail("Fortran-order arrays are not supported",
                       "save numpy.ascontiguousarray(array) instead")
        }
        let inner = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let n = Int(t.hasSuffix("L") ? String(t.dropLast()) : t), n >= 0 else {
                throw ImagingError(.corrupt, path: name, problem: "bad shape \(shapeText) in .npy header",
                                   hint: "write it with numpy.save")
            }
            shape.append(n)
        }
        var total = 1
        for n in shape {
            let (p, overflow) = total.multipliedReportingOverflow(by: n)
            guard !overflow else {
                throw ImagingError(.corrupt, path: name, problem: "shape \(shapeText) is too large",
                                   hint: "write it with numpy.save")
            }
            total = p
        }
        return NPYHeader(shape: shape, isDouble: dtype.hasSuffix("8"), littleEndian: endian,
                         dataOffset: start + headerLength)
    }

    /// The text after `'key':` up to the next top-level comma (a tuple counts as one value).
    private static func value(of key: String, in text: String) -> String? {
        guard let r = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\"") else { return nil }
        var rest = text[r.upperBound...].drop { $0 == " " }
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " }
        var depth = 0
        var out = ""
        for ch in rest {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1 }
            if (ch == "," && depth == 0) || ch == "}" { break }
            out.append(ch)
            if depth == 0 && ch == ")" { break }
        }
        let v = out.trimmingCharacters(in: .whitespaces)
        return v.isEmpty ? nil : v
    }
}
