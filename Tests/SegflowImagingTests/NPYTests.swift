import Foundation
import XCTest
@testable import SegflowImaging

final class NPYTests: XCTestCase {
    func testRoundTrip() throws {
        let dir = try temporaryFolder(self)
        let a = NPYArray(shape: [2, 3, 4], data: (0..<24).map { Float($0) * 0.5 - 3 })
        let path = dir.appendingPathComponent("a.npy").path
        try a.write(to: path)
        XCTAssertEqual(try NPYArray.read(path: path), a)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual((10 + Int(bytes[8]) + Int(bytes[9]) << 8) % 64, 0, "header padded to 64 bytes")
        XCTAssertEqual(bytes[6], 1)
        XCTAssertEqual(bytes.count, 128 + 24 * 4) // this dict needs two 64-byte blocks, as with numpy
    }

    func testShapesOfEveryRank() throws {
        for shape in [[], [5], [0, 3], [1, 1, 1, 2]] {
            let a = NPYArray(shape: shape, data: (0..<shape.reduce(1, *)).map(Float.init))
            XCTAssertEqual(try NPYArray.decode(a.encoded(), name: "mem"), a)
        }
    }

    func testReadsFilesWrittenByNumpy() throws {
        let dir = try temporaryFolder(self).path
        try runPython("""
            import numpy as np
            a = (np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8 - 1)
            np.save('\(dir)/f4.npy', a)
            np.save('\(dir)/f8.npy', a.astype(np.float64))
            np.save('\(dir)/be.npy', a.astype('>f4'))
            np.save('\(dir)/one.npy', np.array([7.5], dtype=np.float32))
            np.save('\(dir)/i4.npy', np.arange(3, dtype=np.int32))
            np.save('\(dir)/fortran.npy', np.asfortranarray(a))
            np.lib.format.write_array(open('\(dir)/v2.npy', 'wb'), a, version=(2, 0))
            """)
        let expected = NPYArray(shape: [2, 3, 4], data: (0..<24).map { Float($0) / 8 - 1 })
        for name in ["f4", "f8", "be", "v2"] {
            XCTAssertEqual(try NPYArray.read(path: "\(dir)/\(name).npy"), expected, name)
        }
        XCTAssertEqual(try NPYArray.read(path: "\(dir)/one.npy"), NPYArray(shape: [1], data: [7.5]))
        assertImagingError(try NPYArray.read(path: "\(dir)/i4.npy"), kind: .unsupported,
                           path: "\(dir)/i4.npy", contains: ["<i4", "astype"])
        assertImagingError(try NPYArray.read(path: "\(dir)/fortran.npy"), kind: .unsupported,
                           path: "\(dir)/fortran.npy", contains: ["Fortran"])
    }

    func testNumpyLoadsWhatWeWrite() throws {
        let dir = try temporaryFolder(self).path
        let a = NPYArray(shape: [3, 2, 5], data: (0..<30).map { Float($0) * 0.25 })
        try a.write(to: "\(dir)/ours.npy")
        try NPYArray(shape: [4], data: [1, 2, 3, 4]).write(to: "\(dir)/vec.npy")
        let out = try runPython("""
            import numpy as np
            a = np.load('\(dir)/ours.npy')
            assert a.dtype == np.float32, a.dtype
            assert a.shape == (3, 2, 5), a.shape
            assert a.flags['C_CONTIGUOUS']
            assert np.array_equal(a, (np.arange(30, dtype=np.float32) * 0.25).reshape(3, 2, 5))
            v = np.load('\(dir)/vec.npy')
            assert v.shape == (4,) and v.tolist() == [1, 2, 3, 4], v
            print('ok')
            """)
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }

    func testBrokenFiles() throws {
        let dir = try temporaryFolder(self).path
        let bytes = NPYArray(shape: [10], data: Array(repeating: 1, count: 10)).encoded()
        try bytes.prefix(bytes.count - 4).write(to: URL(fileURLWithPath: "\(dir)/short.npy"))
        assertImagingError(try NPYArray.read(path: "\(dir)/short.npy"), kind: .corrupt,
                           path: "\(dir)/short.npy", contains: ["truncated"])
        try Data("<html>".utf8).write(to: URL(fileURLWithPath: "\(dir)/page.npy"))
        assertImagingError(try NPYArray.read(path: "\(dir)/page.npy"), kind: .notAnImage,
                           path: "\(dir)/page.npy", contains: ["not a .npy file"])
        assertImagingError(try NPYArray.read(path: "\(dir)/missing.npy"), kind: .cannotRead,
                           path: "\(dir)/missing.npy")
    }

    /// Found by fuzz/FuzzNPY: a header whose shape multiplies to just under Int.max passed the
    /// shape check, and the "truncated" message's byte count (values x 8) overflowed and trapped.
    func testShapeNearIntMaxIsATruncatedFileNotATrap() throws {
        for shape in ["(9223372036854775807,)", "(4611686018427387904,)", "(3037000499, 3037000499)"] {
            var header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }"
            header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
            var bytes = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
            bytes.append(contentsOf: [UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
            bytes.append(contentsOf: Array(header.utf8) + [UInt8](repeating: 0, count: 16))
            assertImagingError(try NPYArray.decode(bytes, name: "huge.npy"), kind: .corrupt,
                               path: "huge.npy", contains: ["truncated"])
        }
    }
}
