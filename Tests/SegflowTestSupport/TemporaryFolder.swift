import Foundation
import XCTest

extension XCTestCase {
    /// A fresh, empty folder for this test under the system's temporary folder, removed when the test
    /// ends (pass or fail) through XCTest's teardown blocks.
    ///
    /// An extension, not a base class: Linux's test discovery reads the source and misses tests in
    /// classes that do not inherit `XCTestCase` directly (swiftlang/swift-package-manager#5573).
    /// - Parameter label: names the folder (`segflow-LABEL-XXXXXXXX`), so a leftover says who made it.
    /// - Returns: the folder's absolute path, without a trailing slash.
    public func makeTemporaryFolder(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "segflow-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }
}
