import XCTest
final class SegflowGraphTestsPlaceholder: XCTestCase { func testNothingYet() {} }
