import XCTest
final class SegflowCoreTestsPlaceholder: XCTestCase { func testNothingYet() {} }
