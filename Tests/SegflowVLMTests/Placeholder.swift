import XCTest
final class SegflowVLMTestsPlaceholder: XCTestCase { func testNothingYet() {} }
