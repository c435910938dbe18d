import XCTest
final class SegflowVisionTestsPlaceholder: XCTestCase { func testNothingYet() {} }
