import XCTest
import SegflowCore
@testable import SegflowVLM

final class PromptTemplateTests: XCTestCase {
    func testRendersClassesDefinitionsAndDescriptionOnce() throws {
        let t = try PromptTemplate("C:\n{{classes}}\nD:\n{{ definitions }}\n{{description}}", field: "pickPrompt")
        let text = t.render([
            "classes": PromptTemplate.classesText(["lawn", "curb"]),
            "definitions": PromptTemplate.definitionsText(["lawn", "curb"], ["Curb": "raised stone edge"]),
            "description": "a {{classes}} literal stays",
        ])
        XCTAssertEqual(text, "C:\n- lawn\n- curb\nD:\ncurb: raised stone edge\na {{classes}} literal stays")
    }

    func testUnknownPlaceholderIsAnErrorNamingIt() {
        XCTAssertThrowsError(try PromptTemplate("pick {{clases}}", field: "prompt")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("unknown placeholder {{clases}}"), text)
            XCTAssertTrue(text.contains("did you mean {{classes}}"), text)
        }
    }

    func testConfigValidationCollectsEveryProblem() {
        var c = Fixture.config(nil)
        c.strategy = .describeThenPick
        c.describePrompt = "describe {{description}}"
        c.pickPrompt = "pick from {{classes}}"
        c.synonyms = ["grass": "lawns-ish"]
        c.temperature = .nan
        XCTAssertThrowsError(try c.validate()) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("describePrompt: placeholder {{description}} is not available here"), text)
            XCTAssertTrue(text.contains("pickPrompt never uses {{description}}"), text)
            XCTAssertTrue(text.contains("synonym 'grass' maps to 'lawns-ish'"), text)
            XCTAssertTrue(text.contains("'temperature' must be 0 or more"), text)
        }
    }

    func testURLDefaultsAndV1Suffix() {
        var c = Fixture.config(nil)
        c.url = nil
        XCTAssertEqual(c.endpoint, "http://127.0.0.1:11434/api/chat")
        c.backend = .openai
        XCTAssertEqual(c.endpoint, "http://127.0.0.1:8000/v1/chat/completions")
        c.url = "https://api.example.test/compatible-mode/v1/"
        XCTAssertEqual(c.endpoint, "https://api.example.test/compatible-mode/v1/chat/completions")
    }

    func testKeyNeverInDescriptionsOrKeyValue() {
        var c = Fixture.config(nil)
        c.apiKey = "sk-SECRET-123"
        XCTAssertFalse("\(c)".contains("SECRET"))
        XCTAssertFalse(String(reflecting: c).contains("SECRET"))
        var dumped = ""; dump(c, to: &dumped)
        XCTAssertFalse(dumped.contains("SECRET"), dumped)
        XCTAssertFalse(c.keyValue.json.contains("SECRET"))
    }

    func testShippedTerrainPromptsAreValid() throws {
        let prompts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("pipelines/prompts")
        func read(_ name: String) throws -> String {
            try String(contentsOf: prompts.appendingPathComponent(name), encoding: .utf8)
        }
        var c = Fixture.config(nil)
        c.strategy = .describeThenPick
        c.describePrompt = try read("terrain-describe.md")
        c.pickPrompt = try read("terrain-pick.md")
        XCTAssertNoThrow(try c.validate())
        c.strategy = .direct
        c.prompt = try read("terrain-direct.md")
        XCTAssertNoThrow(try c.validate())
    }
}
