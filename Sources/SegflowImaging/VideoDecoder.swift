import Foundation

/// Decodes videos with the `ffmpeg` program from the system's packages (Debian: `apt-get install ffmpeg`).
///
/// Why the program and not libavcodec through a system-library target: the program's command line
/// is a stable interface across FFmpeg versions (libavcodec's ABI changes with every major release),
/// a decoder crash stays in its process instead of taking the run down, and its cost is one copy
/// of each considered frame through a pipe: +16 % CPU over an in-process decode to RGB and no wall
/// time on 480x360 H.264 (BENCHMARKS.md, "videoFrames"). Frames come as PPM (`-f image2pipe -c:v ppm`):
/// every frame carries its own size, so a video whose size changes mid-stream, or one rotated by its
/// metadata, still reads right.
public enum VideoDecoder {
    /// One decoded frame: its position among the frames handed out (`0, 1, 2...` for `every` 1)
    /// and its pixels.
    public struct Frame: Sendable {
        /// The index of the frame in the decoded stream (every frame counts, also the skipped ones).
        public var index: Int
        public var image: RGBImage
    }

    /// The `ffmpeg` executable: `$SEGFLOW_FFMPEG`, else the first `ffmpeg` on `$PATH`.
    public static func ffmpegPath() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let p = env["SEGFLOW_FFMPEG"], !p.isEmpty { return p }
        for dir in (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/ffmpeg"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Decodes the first video stream of `path`, handing every `every`-th frame to `body` in order;
    /// `body` returns false to stop early (the rest is not decoded). Returns the presentation time in
    /// seconds of each frame handed out, in order.
    ///
    /// Any error FFmpeg reports (a truncated file, a damaged packet, not a video) fails the whole
    /// video with FFmpeg's own words: frames of a half-decoded file are not silently kept.
    @discardableResult
    public static func decode(path: String, every: Int = 1, body: (Frame) throws -> Bool) throws -> [Double] {
        guard let ffmpeg = ffmpegPath() else {
            throw ImagingError(.cannotRead, path: path, problem: "the ffmpeg program is not on PATH",
                               hint: "install it (Debian: apt-get install ffmpeg) or set SEGFLOW_FFMPEG to its path")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ImagingError(.cannotRead, path: path, problem: "cannot read the video", hint: "check that the file exists")
        }
        let step = max(1, every)
        // showinfo after select logs one line per frame handed out, with its pts_time; `level+` prefixes
        // every log line with its level, so errors are told from the info lines by a tag, not by wording.
        var filters = step > 1 ? ["select=not(mod(n\\,\(step)))"] : []
        filters.append("showinfo")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ffmpeg)
        p.arguments = ["-nostdin", "-hide_banner", "-loglevel", "level+info", "-xerror", "-i", path,
                       "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", filters.joined(separator: ","),
                       "-fps_mode", "passthrough", "-f", "image2pipe", "-c:v", "ppm", "-"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw ImagingError(.cannotRead, path: path, problem: "cannot start \(ffmpeg): \(error)", hint: "check the ffmpeg install")
        }
        // stderr is drained on its own thread (a full pipe would stall ffmpeg); only what is needed is kept.
        let log = FFmpegLog()
        let drained = DispatchSemaphore(value: 0)
        let errHandle = err.fileHandleForReading
        DispatchQueue.global().async {
            log.consume(errHandle)
            drained.signal()
        }
        var stopped = false
        var handedOut = 0
        var failure: Error?
        do {
            var reader = PPMStreamReader(fd: out.fileHandleForReading.fileDescriptor, path: path)
            while let image = try reader.next() {
                let frame = Frame(index: handedOut * step, image: image)
                handedOut += 1
                if try !body(frame) { stopped = true; break }
            }
        } catch {
            failure = error
        }
        if stopped || failure != nil { p.terminate() }
        try? out.fileHandleForReading.close()
        p.waitUntilExit()
        drained.wait()
        if let failure, !(failure is ImagingError && log.errors.isEmpty == false) { throw failure }
        if !stopped {
            if let first = log.errors.first {
                throw ImagingError(.corrupt, path: path, problem: "FFmpeg cannot decode it: \(first)",
                                   hint: "the file is truncated or damaged, or not a video; re-export it or remove it from the folder")
            }
            if p.terminationStatus != 0 {
                throw ImagingError(.corrupt, path: path, problem: "ffmpeg exited with status \(p.terminationStatus)",
                                   hint: "run ffmpeg -i on the file to see why")
            }
            if log.times.count != handedOut {
                throw ImagingError(.corrupt, path: path, problem: "FFmpeg logged \(log.times.count) frame times for \(handedOut) frames",
                                   hint: "this FFmpeg's showinfo output is not understood; report it with `ffmpeg -version`")
            }
            if handedOut == 0 {
                throw ImagingError(.corrupt, path: path, problem: "the video has no frames", hint: "re-export it or remove it from the folder")
            }
        }
        return Array(log.times.prefix(handedOut))
    }
}

/// What is kept of FFmpeg's log: the frame times and the first error lines.
private final class FFmpegLog: @unchecked Sendable {
    var times: [Double] = []
    var errors: [String] = []

    func consume(_ handle: FileHandle) {
        var pending = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                line(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...nl)
            }
        }
        if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
    }

    private func line(_ s: String) {
        if s.contains("[error]") || s.contains("[fatal]") || s.contains("[panic]") {
            if errors.count < 5 { errors.append(Self.untagged(s)) }
            return
        }
        // `[Parsed_showinfo_1 @ 0x...] [info] n:   0 pts:      0 pts_time:0       pos: ...`
        guard s.contains("showinfo"), s.contains(" n:"), let r = s.range(of: "pts_time:") else { return }
        let value = s[r.upperBound...].prefix { !$0.isWhitespace }
        times.append(Double(value) ?? .nan)
    }

    /// A log line without FFmpeg's `[component @ 0x...] [level] ` prefixes.
    static func untagged(_ s: String) -> String {
        var rest = Substring(s)
        while rest.first == "[", let close = rest.firstIndex(of: "]") {
            rest = rest[rest.index(after: close)...].drop { $0 == " " }
        }
        return String(rest)
    }
}

/// Reads binary PPM (`P6`, 8-bit) images one after another from a pipe.
struct PPMStreamReader {
    let fd: Int32
    let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false

    init(fd: Int32, path: String) { self.fd = fd; self.path = path }

    /// The next image, or nil at the end of the stream.
    mutating func next() throws -> RGBImage? {
        guard try fill(1) else { return nil }
        // "P6", width, height and maxval, each followed by one whitespace byte (FFmpeg writes no comments);
        // such a header is at most 2 + 3 * 8 bytes.
        _ = try fill(32)
        var fields: [Int] = []
        var pos = start + 2
        guard buffer.count - start >= 2, buffer[start] == UInt8(ascii: "P"), buffer[start + 1] == UInt8(ascii: "6") else {
            throw ImagingError(.corrupt, path: path, problem: "FFmpeg's frame stream is not PPM", hint: "check the ffmpeg install")
        }
        while fields.count < 3 {
            while pos < buffer.count, !(0x30...0x39).contains(buffer[pos]) { pos += 1 }
            var v = 0, digits = 0
            while pos < buffer.count, (0x30...0x39).contains(buffer[pos]), digits < 8 {
                v = v * 10 + Int(buffer[pos] - 0x30); pos += 1; digits += 1
            }
            guard digits > 0, pos < buffer.count else { throw truncated() }
            fields.append(v)
        }
        pos += 1 // the whitespace byte after maxval
        let (w, h, maxval) = (fields[0], fields[1], fields[2])
        guard maxval == 255, w > 0, h > 0 else {
            throw ImagingError(.unsupported, path: path, problem: "FFmpeg sent a \(w)x\(h) frame with maxval \(maxval)", hint: "")
        }
        let header = pos - start
        let size = w * h * 3
        guard try fill(header + size) else { throw truncated() }
        let pixels = Array(buffer[(start + header)..<(start + header + size)])
        start += header + size
        return RGBImage(width: w, height: h, pixels: pixels)
    }

    private func truncated() -> ImagingError {
        ImagingError(.corrupt, path: path, problem: "FFmpeg's frame stream ended inside a frame", hint: "")
    }

    /// Makes `count` bytes from `start` available; false at the end of the stream.
    private mutating func fill(_ count: Int) throws -> Bool {
        if buffer.count - start >= count { return true }
        if start > 0 { buffer.removeFirst(start); start = 0 }
        var chunk = [UInt8](repeating: 0, count: max(1 << 16, count - buffer.count))
        while buffer.count < count && !eof {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw ImagingError(.cannotRead, path: path, problem: "reading from ffmpeg failed", hint: "") }
            if n == 0 { eof = true; break }
            buffer.append(contentsOf: chunk[0..<n])
        }
        return buffer.count - start >= count
    }
}
