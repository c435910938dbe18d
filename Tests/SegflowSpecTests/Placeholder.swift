import XCTest
final class SegflowSpecTestsPlaceholder: XCTestCase { func testNothingYet() {} }
