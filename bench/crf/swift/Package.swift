// swift-tools-version:5.9
import PackageDescription

// Benchmark harness for the dense CRF, kept apart from the main package so that it
// builds SegflowVision alone (the symlinked sources) without the engine's dependencies.
// Sources/SegflowVision, Sources/CDenseCRF and Tests/SegflowVisionTests are symlinks into the main package.
let package = Package(
    name: "crfbench",
    targets: [
        .target(name: "CDenseCRF", path: "Sources/CDenseCRF"),
        .target(name: "SegflowVision", dependencies: ["CDenseCRF"], path: "Sources/SegflowVision",
                exclude: ["Module.swift"]),
        .executableTarget(name: "crfbench", dependencies: ["SegflowVision"]),
        // The main package's SegflowVision tests, runnable here without building the rest:
        // swift test --package-path bench/crf/swift
        .testTarget(name: "SegflowVisionTests", dependencies: ["SegflowVision"],
                    path: "Tests/SegflowVisionTests"),
    ]
)
