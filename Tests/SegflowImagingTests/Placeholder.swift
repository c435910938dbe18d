import XCTest
final class SegflowImagingTestsPlaceholder: XCTestCase { func testNothingYet() {} }
