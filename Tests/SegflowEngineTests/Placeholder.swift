import XCTest
final class SegflowEngineTestsPlaceholder: XCTestCase { func testNothingYet() {} }
