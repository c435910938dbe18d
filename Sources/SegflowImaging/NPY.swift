import Foundation

/// A float32 array in numpy's `.npy` format (used for CAMs: shape `(C, H, W)`).
///
/// Reading accepts format 1.0, 2.0 and 3.0 headers, C order, dtypes `<f4`, `>f4`,
/// `<f8` and `>f8` (float64 is converted to Float). Writing produces format 1.0,
/// `'<f4'`, C order, with the header padded to a multiple of 64 bytes as numpy does.
public struct NPYArray: Equatable, Sendable {
    /// Dimensions, outermost first. `[]` is a scalar (one element).
    public var shape: [Int]
    /// `shape.reduce(1, *)` elements in C (row-major) order.
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(data.count == shape.reduce(1, *),
                     "shape \(shape) needs \(shape.reduce(1, *)) elements, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    // MARK: - Reading

    /// Reads a `.npy` file.
    public static func read(path: String) throws -> NPYArray {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ImagingError(.cannotRead, path: path, problem: "cannot read: \(error.localizedDescription)",
                               hint: "check that the path exists and is a readable file")
        }
        return try decode(bytes, name: path)
    }

    /// Parses `.npy` bytes; `name` stands in for the path in errors.
    public static func decode(_ bytes: Data, name: String) throws -> NPYArray {
        let header = try NPYHeader.parse(bytes, name: name)
        let count = header.shape.reduce(1, *)
        let itemSize = header.isDouble ? 8 : 4
        let available = bytes.count - header.dataOffset
        guard count <= available / itemSize else {
            throw ImagingError(.corrupt, path: name,
                               problem: "truncated .npy: shape \(header.shape) needs \(count) values of \(itemSize) bytes, found \(available) bytes",
                               hint: "the file is incomplete; write it again")
        }
        let values = bytes.withUnsafeBytes { raw -> [Float] in
            let src = UnsafeRawBufferPointer(rebasing: raw[header.dataOffset..<(header.dataOffset + count * itemSize)])
            return [Float](unsafeUninitializedCapacity: count) { out, initialized in
                if header.isDouble {
                    for i in 0..<count {
                        var bits = src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                        bits = header.littleEndian ? UInt64(littleEndian: bits) : UInt64(bigEndian: bits)
                        out[i] = Float(Double(bitPattern: bits))
                    }
                } else if header.littleEndian && UInt32(littleEndian: 1) == 1 {
                    if count > 0 { memcpy(out.baseAddress!, src.baseAddress!, count * 4) }
                } else {
                    for i in 0..<count {
                        var bits = src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                        bits = header.littleEndian ? UInt32(littleEndian: bits) : UInt32(bigEndian: bits)
                        out[i] = Float(bitPattern: bits)
                    }
                }
                initialized = count
            }
        }
        return NPYArray(shape: header.shape, data: values)
    }

    // MARK: - Writing

    /// Writes format 1.0, `'<f4'`, C order; `numpy.load` reads it as is. Atomic.
    public func write(to path: String) throws {
        try ImageIO.write(encoded(), to: path)
    }

    /// The `.npy` bytes.
    public func encoded() -> Data {
        let dims = shape.map(String.init)
        let shapeText = shape.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // magic (6) + version (2) + length (2) + dict + '\n' is a multiple of 64.
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data()
        out.reserveCapacity(10 + dict.utf8.count + 4 * data.count)
        out.append(contentsOf: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let n = UInt16(dict.utf8.count)
        out.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        out.append(contentsOf: Array(dict.utf8))
        data.withUnsafeBufferPointer { p in
            if UInt32(littleEndian: 1) == 1 {
                out.append(UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress!)
                    .assumingMemoryBound(to: UInt8.self), count: 4 * p.count))
            } else {
                for v in p { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
            }
        }
        return out
    }
}
