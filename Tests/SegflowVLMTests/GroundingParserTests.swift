import XCTest
import SegflowCore
@testable import SegflowVLM

/// Parsing what grounding VLMs write, and Qwen2.5-VL's smart_resize against the reference's outputs.
final class GroundingParserTests: XCTestCase {
    func testQwenListAfterProseAndInFences() throws {
        let prose = """
        I can see a car on the left and a pole. Here are the boxes:
        [{"bbox_2d": [10, 20, 110, 90], "label": "car"}, {"point_2d": [300, 40], "label": "pole"}]
        """
        let a = try XCTUnwrap(GroundingParser.parse(prose))
        XCTAssertEqual(a.entries, [GroundingEntry(.box(x0: 10, y0: 20, x1: 110, y1: 90), label: "car"),
                                   GroundingEntry(.point(x: 300, y: 40), label: "pole")])
        XCTAssertFalse(a.truncated)

        let fenced = "```json\n[\n\t{\"bbox_2d\": [1.5, 2, 3, 4], \"label\": \"Road\"}\n]\n```"
        XCTAssertEqual(GroundingParser.parse(fenced)?.entries, [GroundingEntry(.box(x0: 1.5, y0: 2, x1: 3, y1: 4), label: "Road")])
    }

    func testTruncatedListKeepsCompleteEntries() throws {
        let cut = #"[{"bbox_2d": [1, 2, 3, 4], "label": "a"}, {"bbox_2d": [5, 6, 7, 8], "label": "b"}, {"bbox_2d": [9, 10, 1"#
        let a = try XCTUnwrap(GroundingParser.parse(cut))
        XCTAssertEqual(a.entries.map(\.label), ["a", "b"])
        XCTAssertTrue(a.truncated)
        // Cut off inside a wrapper object: the entries inside it that closed are kept.
        let wrapped = #"{"objects": [{"point_2d": [1, 2], "label": "a"}, {"point_2d": [3,"#
        let w = try XCTUnwrap(GroundingParser.parse(wrapped))
        XCTAssertEqual(w.entries, [GroundingEntry(.point(x: 1, y: 2), label: "a")])
        XCTAssertTrue(w.truncated)
        // Cut off before the first entry closed: there is nothing to keep, and it says so.
        let empty = try XCTUnwrap(GroundingParser.parse(#"[{"bbox_2d": [1, 2"#))
        XCTAssertTrue(empty.truncated && empty.entries.isEmpty)
    }

    func testWrappersOtherKeysAndMalformedEntries() throws {
        let text = #"{"boxes": [{"box": ["1", 2, 3, 4], "name": "car"}, {"bbox_2d": [1, 2, 3], "label": "x"}, {"bbox_2d": [1, 2, 3, 4]}]}"#
        let a = try XCTUnwrap(GroundingParser.parse(text))
        XCTAssertEqual(a.entries, [GroundingEntry(.box(x0: 1, y0: 2, x1: 3, y1: 4), label: "car")])
        XCTAssertEqual(a.malformed, 2, "three coordinates, and no label")
        let both = try XCTUnwrap(GroundingParser.parse(#"[{"bbox_2d": [0, 0, 9, 9], "point_2d": [4, 5], "label": "tree"}]"#))
        XCTAssertEqual(both.entries.count, 2, "an object with a box and a point gives both")
    }

    func testHostileAnswersStayLinear() throws {
        // 200k unclosed braces before a real list: a scan per brace would take minutes.
        let text = String(repeating: "{", count: 200_000) + #"[{"bbox_2d": [1, 2, 3, 4], "label": "a"}]"#
        let started = Date()
        _ = GroundingParser.parse(text)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        // Balanced but not JSON, nested deep: each level fails to parse; past the budget the rest is left.
        let nested = String(repeating: "{", count: 50_000) + String(repeating: "}", count: 50_000)
        let again = Date()
        _ = GroundingParser.parse(nested + #" [{"point_2d": [1, 2], "label": "a"}]"#)
        XCTAssertLessThan(Date().timeIntervalSince(again), 10)
    }

    func testNoJSONIsNilAndAnEmptyListIsAnAnswer() {
        XCTAssertNil(GroundingParser.parse("I cannot see any of those classes."))
        XCTAssertEqual(GroundingParser.parse("Nothing there: []")?.entries, [])
        XCTAssertEqual(GroundingParser.parse("```json\n[ ]\n```")?.entries, [])
    }

    // MARK: - smart_resize

    /// Expected sizes from qwen-vl-utils' `smart_resize` (Qwen2.5-VL's vision_process.py), run with
    /// Python on these inputs: (height, width, minPixels, maxPixels) -> (height, width).
    func testSmartResizeMatchesQwenVLUtils() throws {
        let golden: [(Int, Int, Int?, Int?, Int, Int)] = [
            (360, 480, nil, nil, 364, 476),
            (70, 42, nil, nil, 56, 56),           // 2.5 and 1.5 factors: Python rounds halves to even
            (42, 70, nil, nil, 56, 56),
            (180, 240, nil, nil, 168, 252),
            (1080, 1920, nil, 1003520, 728, 1316), // scaled down into Ollama's 1280*28*28
            (1080, 1920, nil, nil, 1092, 1932),
            (720, 1280, nil, 200704, 336, 588),
            (3000, 4000, nil, nil, 2996, 4004),
            (4032, 3024, nil, 1003520, 1148, 840),
            (20, 30, nil, nil, 56, 84),            // scaled up to 4*28*28
            (14, 14, nil, nil, 56, 56),
            (50, 100, 200704, nil, 336, 644),
            (60, 100, 20000, nil, 112, 196),
            (180, 240, nil, 20000, 112, 140),
            (10, 1999, nil, nil, 28, 1988),
            (36, 48, nil, 1000, 28, 28),           // max below the default min: the down branch, never below 28
        ]
        for (h, w, minP, maxP, eh, ew) in golden {
            let s = try QwenSmartResize.size(height: h, width: w, minPixels: minP ?? QwenSmartResize.defaultMinPixels,
                                             maxPixels: maxP ?? QwenSmartResize.defaultMaxPixels)
            XCTAssertEqual([s.height, s.width], [eh, ew], "\(h)x\(w) min \(minP ?? 0) max \(maxP ?? 0)")
        }
        XCTAssertEqual(QwenSmartResize.defaultMinPixels, 3136)
        XCTAssertEqual(QwenSmartResize.defaultMaxPixels, 12_845_056)
        XCTAssertThrowsError(try QwenSmartResize.size(height: 10, width: 2010)) { error in
            XCTAssertTrue("\(error)".contains("aspect ratio"), "\(error)")
        }
    }

    // MARK: - Geometry

    func testFrameSwapsClipsAndDropsAndMapsBothConventions() {
        var t = GroundingTally()
        // The model saw 476x364 (smart_resize of 480x360).
        let seen = GroundingFrame(width: 480, height: 360, seenWidth: 476, seenHeight: 364, coordinates: .pixels)
        XCTAssertEqual(seen.box("car", x0: 119, y0: 91, x1: 238, y1: 182, &t), GroundedBox("car", 120, 90, 240, 180))
        XCTAssertEqual(seen.box("car", x0: 238, y0: 182, x1: 119, y1: 91, &t), GroundedBox("car", 120, 90, 240, 180))
        XCTAssertEqual(t.swapped, 1)
        XCTAssertEqual(seen.box("car", x0: -20, y0: 300, x1: 500, y1: 400, &t), GroundedBox("car", 0, 297, 480, 360))
        XCTAssertEqual(t.clipped, 1)
        XCTAssertNil(seen.box("car", x0: 500, y0: 10, x1: 600, y1: 20, &t), "wholly right of the image")
        XCTAssertEqual(t.outside, 1)
        let k = GroundingFrame(width: 480, height: 360, seenWidth: 480, seenHeight: 360, coordinates: .normalized1000)
        XCTAssertEqual(k.box("road", x0: 0, y0: 500, x1: 1000, y1: 1000, &t), GroundedBox("road", 0, 180, 480, 360))
        XCTAssertEqual(k.point("pole", x: 250, y: 100, &t), GroundedPoint("pole", 120, 36))
        XCTAssertEqual(k.point("pole", x: 1000, y: 1000, &t), GroundedPoint("pole", 479, 359), "the far edge is the last pixel")
        XCTAssertNil(k.point("pole", x: 1200, y: 10, &t))
        XCTAssertEqual(t.outside, 2)
    }
}
