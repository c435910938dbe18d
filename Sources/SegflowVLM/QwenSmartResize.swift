import Foundation
import SegflowCore

/// Qwen2.5-VL's `smart_resize` (qwen-vl-utils `vision_process.py`), to the bit: the size the model
/// sees an image at, so that pixel coordinates in its answers can be mapped back.
///
/// Both sides are rounded to a multiple of `factor` (Python's `round`: halves to even, so 42 px
/// -> 56 and 70 px -> 56); when the area then exceeds `maxPixels` both sides are scaled down by
/// `sqrt(h * w / maxPixels)` and floored to the factor (never below one factor), when it falls short of
/// `minPixels` scaled up by `sqrt(minPixels / (h * w))` and ceiled. Aspect ratios above 200 are refused.
public enum QwenSmartResize {
    public static let factor = 28
    /// qwen-vl-utils' `MIN_PIXELS` (4 * 28 * 28) and `MAX_PIXELS` (16384 * 28 * 28).
    public static let defaultMinPixels = 4 * 28 * 28
    public static let defaultMaxPixels = 16384 * 28 * 28
    public static let maxRatio = 200.0

    /// `(height, width)` the model sees, or a user error for an extreme aspect ratio or bad bounds.
    public static func size(height: Int, width: Int, factor: Int = factor,
                            minPixels: Int = defaultMinPixels, maxPixels: Int = defaultMaxPixels) throws -> (height: Int, width: Int) {
        guard height > 0, width > 0 else { throw SegflowError.user("smart_resize: the image is \(width)x\(height)") }
        // As in Python, min > max is not refused here (the first branch that applies wins); the stage
        // refuses it as a config error. A zero max would divide by zero there.
        guard maxPixels > 0 else { throw SegflowError.user("maxPixels must be more than 0, found \(maxPixels)") }
        let h = Double(height), w = Double(width), f = Double(factor)
        let ratio = Swift.max(h, w) / Swift.min(h, w)
        guard ratio <= maxRatio else {
            throw SegflowError.user("smart_resize: absolute aspect ratio must be smaller than 200, got \(ratio) (\(width)x\(height))")
        }
        var hBar = Swift.max(factor, Int((h / f).rounded(.toNearestOrEven)) * factor)
        var wBar = Swift.max(factor, Int((w / f).rounded(.toNearestOrEven)) * factor)
        if hBar * wBar > maxPixels {
            let beta = (h * w / Double(maxPixels)).squareRoot()
            hBar = Swift.max(factor, Int((h / beta / f).rounded(.down)) * factor)
            wBar = Swift.max(factor, Int((w / beta / f).rounded(.down)) * factor)
        } else if hBar * wBar < minPixels {
            let beta = (Double(minPixels) / (h * w)).squareRoot()
            hBar = Int((h * beta / f).rounded(.up)) * factor
            wBar = Int((w * beta / f).rounded(.up)) * factor
        }
        return (hBar, wBar)
    }
}
