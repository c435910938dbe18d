import CImageShim
import Foundation

// MARK: - Bridge to the C shim

/// The decoder's source: a file (read by C stdio) or bytes the caller holds.
enum ImageSource {
    case file(String)
    case memory(Data, name: String)

    var name: String {
        switch self {
        case .file(let p): return p
        case .memory(_, let n): return n
        }
    }
}

/// What a header says, plus the open C decoder while inside `ShimDecoder.with`.
struct ShimDecoder {
    let handle: OpaquePointer
    let info: sf_info
    let name: String

    var width: Int { Int(info.width) }
    var height: Int { Int(info.height) }

    static let messageCapacity = 320

    /// Opens `source`, reads its header, runs `body`, closes. Throws `ImagingError` for
    /// every failure the shim reports.
    static func with<T>(_ source: ImageSource, maxPixels: Int,
                        _ body: (ShimDecoder) throws -> T) throws -> T {
        var msg = [CChar](repeating: 0, count: messageCapacity)
        var info = sf_info()
        var handle: OpaquePointer?
        let limit = Int64(max(0, maxPixels))
        let rc: Int32
        switch source {
        case .file(let path):
            rc = path.withCString { p in
                sf_open(p, nil, 0, limit, &handle, &info, &msg, msg.count)
            }
            return try finish(rc, handle, info, msg, source.name, body)
        case .memory(let data, _):
            return try data.withUnsafeBytes { raw in
                // The C side keeps the pointer until sf_close, which runs inside this closure.
                let rc = sf_open(nil, raw.baseAddress, raw.count, limit, &handle, &info, &msg, msg.count)
                return try finish(rc, handle, info, msg, source.name, body)
            }
        }
    }

    private static func finish<T>(_ rc: Int32, _ handle: OpaquePointer?, _ info: sf_info,
                                  _ msg: [CChar], _ name: String,
                                  _ body: (ShimDecoder) throws -> T) throws -> T {
        guard rc == Int32(SF_OK), let handle else {
            throw openError(rc, info: info, message: string(msg), name: name)
        }
        defer { sf_close(handle) }
        return try body(ShimDecoder(handle: handle, info: info, name: name))
    }

    /// Decodes every pixel into a fresh array of `width * height * bytesPerPixel` bytes.
    func decode(mode: Int32, bytesPerPixel: Int) throws -> [UInt8] {
        let count = width * height * bytesPerPixel
        var msg = [CChar](repeating: 0, count: ShimDecoder.messageCapacity)
        var rc = Int32(SF_OK)
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            guard let base = buf.baseAddress else { return }
            rc = sf_decode(handle, mode, base, count, &msg, msg.count)
            initialized = rc == Int32(SF_OK) ? count : 0
        }
        guard rc == Int32(SF_OK) else {
            throw ShimDecoder.decodeError(rc, info: info, message: ShimDecoder.string(msg), name: name)
        }
        return pixels
    }

    static func string(_ msg: [CChar]) -> String {
        msg.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    var formatName: String {
        info.format == Int32(SF_FORMAT_PNG) ? "PNG" : "JPEG"
    }

    /// The palette as RGB triples (empty when the file has none).
    var palette: [(UInt8, UInt8, UInt8)] {
        var info = self.info
        let n = Int(info.palette_count)
        return withUnsafeBytes(of: &info.palette) { p in
            (0..<n).map { (p[3 * $0], p[3 * $0 + 1], p[3 * $0 + 2]) }
        }
    }

    // MARK: - Errors with hints

    static func openError(_ rc: Int32, info: sf_info, message: String, name: String) -> ImagingError {
        switch Int(rc) {
        case Int(SF_ERR_IO):
            return ImagingError(.cannotRead, path: name, problem: message,
                                hint: "check that the path exists and is a readable file")
        case Int(SF_ERR_FORMAT):
            if info.magic_len == 0 {
                return ImagingError(.notAnImage, path: name, problem: "empty file (0 bytes)",
                                    hint: "the file was probably cut off while copying; copy or export it again")
            }
            var magic = info.magic
            let n = Int(info.magic_len)
            let hex = withUnsafeBytes(of: &magic) { p in
                (0..<min(4, n)).map { String(format: "%02x", p[$0]) }.joined(separator: " ")
            }
            return ImagingError(.notAnImage, path: name,
                                problem: "not a PNG or JPEG file (starts with \(hex))",
                                hint: "re-export the image as PNG or JPEG")
        case Int(SF_ERR_TOO_LARGE):
            return ImagingError(.tooLarge, path: name, problem: message,
                                hint: "downscale the image, or raise the limit (SEGFLOW_MAX_PIXELS=N) if the size is intended")
        default:
            return decodeError(rc, info: info, message: message, name: name)
        }
    }

    static func decodeError(_ rc: Int32, info: sf_info, message: String, name: String) -> ImagingError {
        let format = info.format == Int32(SF_FORMAT_PNG) ? "PNG" : info.format == Int32(SF_FORMAT_JPEG) ? "JPEG" : "image"
        switch Int(rc) {
        case Int(SF_ERR_CORRUPT):
            return ImagingError(.corrupt, path: name, problem: "corrupt or truncated \(format) (\(message))",
                                hint: "the file is damaged or incomplete; copy, download or export it again")
        case Int(SF_ERR_UNSUPPORTED):
            return ImagingError(.unsupported, path: name, problem: "unsupported \(format): \(message)",
                                hint: "re-export it as an 8-bit PNG")
        case Int(SF_ERR_NOMEM):
            return ImagingError(.tooLarge, path: name, problem: "out of memory while decoding",
                                hint: "lower the pixel limit (SEGFLOW_MAX_PIXELS=N) or free memory")
        case Int(SF_ERR_IO):
            return ImagingError(.cannotRead, path: name, problem: message,
                                hint: "check that the path exists and is a readable file")
        default:
            return ImagingError(.invalidArgument, path: name, problem: "decoder error \(rc): \(message)",
                                hint: "this is a bug in SegflowImaging; please report it")
        }
    }
}
