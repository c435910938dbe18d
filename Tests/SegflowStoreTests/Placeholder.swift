import XCTest
final class SegflowStoreTestsPlaceholder: XCTestCase { func testNothingYet() {} }
