import XCTest
@testable import SegflowVLM

final class AnswerParserTests: XCTestCase {
    func testChainOfThoughtThenJSONTakesTheLastObject() {
        let text = """
        Let me think. A draft: {"annotations": ["soil"]} but looking again the ground is grass.
        Braces in prose {like this} do not count.
        Final answer: {"annotations": ["lawn", "curb"]}
        """
        XCTAssertEqual(AnswerParser.labels(in: text), ["lawn", "curb"])
    }

    func testFencedJSON() {
        let text = "Here you go:\n```json\n{\n  \"annotations\": [\"water\", \"soil\"]\n}\n```\nDone."
        XCTAssertEqual(AnswerParser.labels(in: text), ["water", "soil"])
    }

    func testBracesInsideStringsAreSkipped() {
        let text = #"{"note": "a } and a { in text", "labels": ["curb"]} trailing"#
        XCTAssertEqual(AnswerParser.labels(in: text), ["curb"])
    }

    func testLabelsKeyNestedObjectAndEmptyList() {
        XCTAssertEqual(AnswerParser.labels(in: #"{"labels": ["lawn"], "meta": {"x": 1}}"#), ["lawn"])
        XCTAssertEqual(AnswerParser.labels(in: #"{"annotations": []}"#), [])
        XCTAssertEqual(AnswerParser.labels(in: #"{"result": {"annotations": ["soil"]}}"#), ["soil"])
    }

    func testRepairsTrailingCommasAndSingleQuotes() {
        XCTAssertEqual(AnswerParser.labels(in: #"{"annotations": ["lawn", "soil",]}"#), ["lawn", "soil"])
        XCTAssertEqual(AnswerParser.labels(in: "{'annotations': ['lawn']}"), ["lawn"])
    }

    func testGarbageIsNil() {
        XCTAssertNil(AnswerParser.labels(in: "I see a road and some grass."))
        XCTAssertNil(AnswerParser.labels(in: #"{"answer": "lawn"}"#))
        XCTAssertNil(AnswerParser.labels(in: #"{"annotations": ["lawn""#))
    }
}
