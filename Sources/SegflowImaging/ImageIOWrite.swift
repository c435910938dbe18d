import CImageShim
import Foundation

// MARK: - Writing

extension ImageIO {
    /// The zlib level used when none is given: fast, and within a few percent of level 6
    /// on photos and label masks.
    public static let defaultPNGLevel = 3

    /// Writes an 8-bit RGB PNG. The file is replaced atomically (written beside it, then renamed).
    public static func writePNG(_ img: RGBImage, to path: String, level: Int = defaultPNGLevel) throws {
        try write(encodePNG(img, level: level, name: path), to: path)
    }

    /// Writes an 8-bit grayscale PNG (a label mask: one class id per pixel).
    public static func writePNG(_ mask: GrayImage, to path: String, level: Int = defaultPNGLevel) throws {
        try write(encodePNG(mask, level: level, name: path), to: path)
    }

    /// Writes an 8-bit palette PNG whose pixel values are `indices`; always bit depth 8,
    /// even for a handful of colours, so the file re-reads as the same indices everywhere.
    /// Indices beyond `palette` get black entries (the palette is extended to cover the
    /// largest index, e.g. 255 = ignore).
    public static func writePalettePNG(_ indices: GrayImage, palette: [(UInt8, UInt8, UInt8)],
                                       to path: String, level: Int = defaultPNGLevel) throws {
        try write(encodePalettePNG(indices, palette: palette, level: level, name: path), to: path)
    }

    /// Writes an RGB JPEG (baseline unless `progressive`).
    public static func writeJPEG(_ img: RGBImage, to path: String, quality: Int = 90,
                                 progressive: Bool = false) throws {
        try write(encodeJPEG(img, quality: quality, progressive: progressive, name: path), to: path)
    }

    // MARK: - Encoding in memory

    /// An RGB PNG as bytes.
    public static func encodePNG(_ img: RGBImage, level: Int = defaultPNGLevel,
                                 name: String = "<memory>") throws -> Data {
        try encode(img.pixels, img.width, img.height, Int32(SF_PNG_RGB), [], level, name)
    }

    /// A grayscale PNG as bytes.
    public static func encodePNG(_ mask: GrayImage, level: Int = defaultPNGLevel,
                                 name: String = "<memory>") throws -> Data {
        try encode(mask.pixels, mask.width, mask.height, Int32(SF_PNG_GRAY), [], level, name)
    }

    /// A palette PNG (bit depth 8) as bytes; see `writePalettePNG`.
    public static func encodePalettePNG(_ indices: GrayImage, palette: [(UInt8, UInt8, UInt8)],
                                        level: Int = defaultPNGLevel,
                                        name: String = "<memory>") throws -> Data {
        guard !palette.isEmpty, palette.count <= 256 else {
            throw ImagingError(.invalidArgument, path: name,
                               problem: "a palette needs 1 to 256 colours, got \(palette.count)",
                               hint: "pass one colour per class id")
        }
        let largest = Int(maxValue(indices.pixels))
        var flat = [UInt8]()
        flat.reserveCapacity(3 * max(palette.count, largest + 1))
        for c in palette { flat += [c.0, c.1, c.2] }
        while flat.count < 3 * (largest + 1) { flat += [0, 0, 0] }
        return try encode(indices.pixels, indices.width, indices.height, Int32(SF_PNG_PALETTE),
                          flat, level, name)
    }

    /// An RGB JPEG as bytes.
    public static func encodeJPEG(_ img: RGBImage, quality: Int = 90, progressive: Bool = false,
                                  name: String = "<memory>") throws -> Data {
        try checkSize(img.width, img.height, name)
        var msg = [CChar](repeating: 0, count: ShimDecoder.messageCapacity)
        var out: UnsafeMutablePointer<UInt8>?
        var len = 0
        let rc = img.pixels.withUnsafeBufferPointer { p in
            sf_jpeg_encode(p.baseAddress, Int32(img.width), Int32(img.height), Int32(quality),
                           progressive ? 1 : 0, &out, &len, &msg, msg.count)
        }
        return try takeBuffer(rc, out, len, msg, name, "JPEG")
    }

    // MARK: - Helpers

    private static func encode(_ pixels: [UInt8], _ width: Int, _ height: Int, _ type: Int32,
                               _ palette: [UInt8], _ level: Int, _ name: String) throws -> Data {
        try checkSize(width, height, name)
        var msg = [CChar](repeating: 0, count: ShimDecoder.messageCapacity)
        var out: UnsafeMutablePointer<UInt8>?
        var len = 0
        let rc = pixels.withUnsafeBufferPointer { p in
            palette.withUnsafeBufferPointer { pal in
                sf_png_encode(p.baseAddress, Int32(width), Int32(height), type, pal.baseAddress,
                              Int32(palette.count / 3), Int32(level), &out, &len, &msg, msg.count)
            }
        }
        return try takeBuffer(rc, out, len, msg, name, "PNG")
    }

    private static func checkSize(_ width: Int, _ height: Int, _ name: String) throws {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw ImagingError(.invalidArgument, path: name,
                               problem: "cannot encode a \(width)x\(height) image",
                               hint: "an image needs at least one pixel")
        }
    }

    private static func takeBuffer(_ rc: Int32, _ out: UnsafeMutablePointer<UInt8>?, _ len: Int,
                                   _ msg: [CChar], _ name: String, _ format: String) throws -> Data {
        guard rc == Int32(SF_OK), let out else {
            throw ImagingError(.invalidArgument, path: name,
                               problem: "\(format) encoder failed: \(ShimDecoder.string(msg))",
                               hint: "this is a bug in SegflowImaging; please report it")
        }
        // Data takes the malloc'd buffer without copying and frees it with sf_free.
        return Data(bytesNoCopy: out, count: len, deallocator: .custom { p, _ in sf_free(p) })
    }

    static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ImagingError(.cannotWrite, path: path, problem: "cannot write: \(error.localizedDescription)",
                               hint: "check that the folder exists and is writable")
        }
    }

    static func maxValue(_ bytes: [UInt8]) -> UInt8 {
        bytes.withUnsafeBufferPointer { p in
            var m: UInt8 = 0
            for v in p where v > m { m = v }
            return m
        }
    }
}
