import Foundation
import SegflowImaging

/// One `.npy` file's bytes (class activation maps and scores come from plugins as .npy) through
/// the header parser and the reader.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let array = try? NPYArray.decode(Data(bytes: data, count: size), name: "fuzz.npy") {
        precondition(array.data.count == array.shape.reduce(1, *), "data does not match its shape")
    }
    return 0
}
