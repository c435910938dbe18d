// MARK: - Pixel containers

/// An 8-bit RGB image: `pixels` holds `width * height * 3` bytes, interleaved R, G, B,
/// row-major from the top-left corner, with no row padding.
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    /// Wraps existing pixels; `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        precondition(pixels.count == width * height * 3,
                     "RGBImage \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        var px = [UInt8](repeating: fill.0, count: width * height * 3)
        if fill.0 != fill.1 || fill.0 != fill.2 {
            px.withUnsafeMutableBufferPointer { p in
                var i = 0
                while i < p.count {
                    p[i + 1] = fill.1
                    p[i + 2] = fill.2
                    i += 3
                }
            }
        }
        self.init(width: width, height: height, pixels: px)
    }

    /// The colour at (`x`, `y`); for tests and spot checks, not for hot loops.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    public static func == (a: RGBImage, b: RGBImage) -> Bool {
        a.width == b.width && a.height == b.height && a.pixels == b.pixels
    }
}

/// An 8-bit single-channel image, used for label masks: each pixel is a class id and
/// `255` means "ignore". `pixels` holds `width * height` bytes, row-major.
public struct GrayImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    /// Wraps existing pixels; `pixels.count` must be `width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        precondition(pixels.count == width * height,
                     "GrayImage \(width)x\(height) needs \(width * height) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A mask filled with one value.
    public init(width: Int, height: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height,
                  pixels: [UInt8](repeating: fill, count: max(0, width) * max(0, height)))
    }

    /// The value at (`x`, `y`); for tests and spot checks, not for hot loops.
    public subscript(x: Int, y: Int) -> UInt8 {
        pixels[y * width + x]
    }
}
