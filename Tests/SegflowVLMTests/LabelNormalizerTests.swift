import XCTest
@testable import SegflowVLM

final class LabelNormalizerTests: XCTestCase {
    let n = LabelNormalizer(vocabulary: Fixture.vocabulary, synonyms: Fixture.synonyms)

    func testCaseWhitespaceOrderAndDuplicates() {
        let r = n.normalize(["  Curb ", "CEMENT   road", "curb", "lawn"])
        XCTAssertEqual(r.labels, ["cement road", "lawn", "curb"])
        XCTAssertEqual(r.dropped, [])
    }

    func testSynonyms() {
        let r = n.normalize(["grass", "curd", "Brick Road"])
        XCTAssertEqual(r.labels, ["red paved path", "lawn", "curb"])
    }

    func testSimplePluralsOnlyWhenTheSingularIsKnown() {
        XCTAssertEqual(n.normalize(["lawns", "curbs", "cement roads"]).labels, ["cement road", "lawn", "curb"])
        // "grass" is a synonym as written: never "gras".
        XCTAssertEqual(n.normalize(["grass", "grasses"]).labels, ["lawn"])
        XCTAssertEqual(n.normalize(["other"]).labels, ["others"])
        let plain = LabelNormalizer(vocabulary: ["lawn"])
        XCTAssertEqual(plain.normalize(["grass"]).dropped, ["grass"])
    }

    func testOutOfVocabularyDroppedAndListedOnce() {
        let r = n.normalize(["dirt", "mud", "lawn", "dirt", "brick sidewalk"])
        XCTAssertEqual(r.labels, ["lawn"])
        XCTAssertEqual(r.dropped, ["dirt", "mud", "brick sidewalk"])
    }
}
