/// CAMs -> a label mask: argmax over the image's labelled classes with a background threshold.
public struct PseudoLabeler: Sendable {
    /// Below this best score a pixel becomes background (or ignore when there is no background class).
    public var bgThreshold: Float
    /// IRN-style band: > 0 enables it; best >= fg -> class, best < bg -> background, between -> 255.
    public var fgThreshold: Float
    public init(bgThreshold: Float, fgThreshold: Float) { self.bgThreshold = bgThreshold; self.fgThreshold = fgThreshold }

    /// `cams` is (C, H, W); `allowed` the channels labelled for this image; `ids` the class id of each channel.
    /// `background`: the background channel (its CAM channel is not used: background comes from the threshold).
    public func label(cams: [Float], channels: Int, pixels: Int, allowed: [Int], ids: [UInt8], background: Int?) -> [UInt8] {
        let bgValue: UInt8 = background.map { ids[$0] } ?? 255
        let use = allowed.filter { $0 != background }
        var out = [UInt8](repeating: bgValue, count: pixels)
        if use.isEmpty { return out }
        cams.withUnsafeBufferPointer { c in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<pixels {
                    var best: Float = -.infinity, arg = use[0]
                    for ch in use {
                        let v = c[ch * pixels + i]
                        if v > best { best = v; arg = ch }
                    }
                    if fgThreshold > 0 {
                        o[i] = best >= fgThreshold ? ids[arg] : best < bgThreshold ? bgValue : 255
                    } else {
                        o[i] = best < bgThreshold ? bgValue : ids[arg]
                    }
                }
            }
        }
        return out
    }
}
