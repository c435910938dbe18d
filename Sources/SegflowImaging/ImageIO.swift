import CImageShim
import Foundation

/// Reading and writing PNG and JPEG files. The format is detected from the first bytes,
/// never from the extension. Every failure is an `ImagingError` naming the file; a
/// truncated, corrupt or mislabelled file never crashes the process.
public enum ImageIO {
    /// The pixel limit when `SEGFLOW_MAX_PIXELS` is not set: 100 megapixels, far above any dataset image.
    public static let builtinMaxPixels = 100_000_000

    /// The default pixel limit: `SEGFLOW_MAX_PIXELS` (a positive integer) or 100 megapixels. A header
    /// claiming more is refused before any pixel memory is allocated, so a decompression bomb (a 1 KB
    /// PNG that says 100,000 x 100,000) costs nothing, and one decoded image costs at most 3 bytes per
    /// pixel of the limit (RGB; 1 for a mask).
    public static var defaultMaxPixels: Int {
        if let raw = getenv("SEGFLOW_MAX_PIXELS"), let n = Int(String(cString: raw)), n > 0 { return n }
        return builtinMaxPixels
    }

    // MARK: - Reading colour images

    /// Reads a PNG or JPEG as 8-bit RGB. Alpha is dropped (as PIL's `convert("RGB")`
    /// does), gray is expanded to three channels, palettes are applied and 16-bit
    /// samples are scaled to 8 bits. Images above `maxPixels` are refused after
    /// reading the header, before any pixel memory is allocated. JPEG EXIF orientation
    /// is not applied: pixels come back as stored, as with dataset loaders.
    public static func readRGB(path: String, maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        try decodeRGB(.file(path), maxPixels: maxPixels)
    }

    /// `readRGB` for bytes already in memory; `name` stands in for the path in errors.
    public static func decodeRGB(data: Data, name: String,
                                 maxPixels: Int = defaultMaxPixels) throws -> RGBImage {
        try decodeRGB(.memory(data, name: name), maxPixels: maxPixels)
    }

    static func decodeRGB(_ source: ImageSource, maxPixels: Int) throws -> RGBImage {
        try ShimDecoder.with(source, maxPixels: maxPixels) { d in
            let px = try d.decode(mode: Int32(SF_MODE_RGB), bytesPerPixel: 3)
            return RGBImage(width: d.width, height: d.height, pixels: px)
        }
    }

    // MARK: - Reading label masks

    /// Reads a label mask: an 8-bit grayscale PNG gives its values, a palette PNG its
    /// palette *indices* (not colours). Gray with alpha drops the alpha; 1/2/4-bit
    /// files give their raw values (0/1 for a 1-bit mask); 16-bit gray is accepted when
    /// every value fits a byte. RGB PNGs and JPEGs are refused with an explanation.
    public static func readMask(path: String, maxPixels: Int = defaultMaxPixels) throws -> GrayImage {
        try decodeMask(.file(path), maxPixels: maxPixels)
    }

    /// `readMask` for bytes already in memory; `name` stands in for the path in errors.
    public static func decodeMask(data: Data, name: String,
                                  maxPixels: Int = defaultMaxPixels) throws -> GrayImage {
        try decodeMask(.memory(data, name: name), maxPixels: maxPixels)
    }

    /// `readMask` plus the file's palette (empty for a grayscale mask), e.g. to draw a
    /// palette mask in its own colours.
    public static func readIndexed(path: String, maxPixels: Int = defaultMaxPixels) throws
        -> (indices: GrayImage, palette: [(UInt8, UInt8, UInt8)]) {
        try ShimDecoder.with(.file(path), maxPixels: maxPixels) { d in
            (try mask(d), d.palette)
        }
    }

    static func decodeMask(_ source: ImageSource, maxPixels: Int) throws -> GrayImage {
        try ShimDecoder.with(source, maxPixels: maxPixels, mask)
    }

    private static func mask(_ d: ShimDecoder) throws -> GrayImage {
        if let problem = notAMask(d.info) {
            throw ImagingError(.unsupported, path: d.name,
                               problem: "label masks must be 8-bit grayscale or palette PNGs; this is \(problem)",
                               hint: "save one class id per pixel (PIL mode \"L\" or \"P\") as PNG")
        }
        let px = try d.decode(mode: Int32(SF_MODE_INDEX), bytesPerPixel: 1)
        return GrayImage(width: d.width, height: d.height, pixels: px)
    }

    private static func notAMask(_ info: sf_info) -> String? {
        if info.format == Int32(SF_FORMAT_JPEG) {
            return "a JPEG, whose lossy compression changes class ids"
        }
        switch Int(info.png_color_type) {
        case Int(SF_PNG_RGB): return "an RGB PNG"
        case Int(SF_PNG_RGBA): return "an RGBA PNG"
        default: return nil
        }
    }

    // MARK: - Headers

    /// Width and height from the header only; no pixel is decoded.
    public static func imageSize(path: String) throws -> (width: Int, height: Int) {
        let h = try header(path: path)
        return (h.width, h.height)
    }

    /// Everything the header says, without decoding pixels.
    public static func header(path: String) throws -> ImageHeader {
        try ShimDecoder.with(.file(path), maxPixels: Int.max) { ImageHeader($0) }
    }
}

/// What an image file's header says.
public struct ImageHeader: Sendable {
    public enum Format: String, Sendable { case png, jpeg }
    /// How a PNG stores its pixels.
    public enum ColorType: Int, Sendable {
        case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6
    }

    public var format: Format
    public var width: Int
    public var height: Int
    /// PNG colour type; nil for JPEG.
    public var colorType: ColorType?
    /// Bits per sample (8 for JPEG).
    public var bitDepth: Int
    /// Channels stored in the file (1 to 4).
    public var channels: Int
    /// JPEG progressive encoding.
    public var progressive: Bool
    /// PNG palette entries, empty if none.
    public var palette: [(UInt8, UInt8, UInt8)]

    init(_ d: ShimDecoder) {
        format = d.info.format == Int32(SF_FORMAT_PNG) ? .png : .jpeg
        width = d.width
        height = d.height
        colorType = d.info.png_color_type < 0 ? nil : ColorType(rawValue: Int(d.info.png_color_type))
        bitDepth = Int(d.info.bit_depth)
        channels = Int(d.info.channels)
        progressive = d.info.progressive != 0
        palette = d.palette
    }
}
