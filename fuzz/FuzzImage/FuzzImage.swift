import Foundation
import SegflowImaging

/// One file's bytes (PNG or JPEG: the decoders go by content, never by name) through every way the engine decodes an image it did not write: as a colour
/// image, as a label mask and as an indexed mask with its palette. The pixel limit is lowered so a
/// header claiming a huge image is refused (as a decompression bomb must be) rather than allocated.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let limit = 4_000_000
    if let image = try? ImageIO.decodeRGB(data: bytes, name: "fuzz.image", maxPixels: limit) {
        precondition(image.pixels.count == image.width * image.height * 3, "RGB buffer does not match its size")
    }
    if let mask = try? ImageIO.decodeMask(data: bytes, name: "fuzz.image", maxPixels: limit) {
        precondition(mask.pixels.count == mask.width * mask.height, "mask buffer does not match its size")
    }
    return 0
}
