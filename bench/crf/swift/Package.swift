// swift-tools-version:5.9
import PackageDescription

// Benchmark harness for the dense CRF, kept apart from the main package so that it
// builds SegflowVision alone (the symlinked sources) without the engine's dependencies.
let package = Package(
    name: "crfbench",
    targets: [
        .target(name: "SegflowVision", path: "Sources/SegflowVision",
                exclude: ["Module.swift"]),
        .executableTarget(name: "crfbench", dependencies: ["SegflowVision"]),
    ]
)
