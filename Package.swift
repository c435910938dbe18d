// swift-tools-version:6.0
import Foundation
import PackageDescription

// Layers, arrows pointing down only:
// segflow -> SegflowCLI -> SegflowEngine -> SegflowStages -> SegflowStore -> SegflowGraph -> SegflowSpec -> SegflowCore
// SegflowEngine also uses SegflowRemote (remote caches beside SegflowStore).
// SegflowStages also uses SegflowImaging (libpng/libjpeg), SegflowVision (CRF, metrics) and SegflowVLM (cotLabel HTTP).
let package = Package(
    name: "segflow",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "segflow", targets: ["segflow"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg62-turbo-dev"])]),
        /// setjmp/longjmp guards around libpng and libjpeg: Swift cannot catch a longjmp.
        .target(name: "CImageShim", dependencies: ["CPNG", "CJPEG"]),
        .systemLibrary(name: "CFreeType", pkgConfig: "freetype2",
                       providers: [.apt(["libfreetype-dev"])]),
        .systemLibrary(name: "CFontconfig", pkgConfig: "fontconfig",
                       providers: [.apt(["libfontconfig-dev"])]),
        /// Caption text: FreeType glyphs, fontconfig's font search, behind a few plain C functions.
        .target(name: "CFontShim", dependencies: ["CFreeType", "CFontconfig"]),

        /// syncfs(2) for the store's batched durability (not exported by Swift's Glibc module).
        .target(name: "CFileSync"),
        /// libcurl opened on first use (static Foundation's URLSession would load it and ~30 libraries at
        /// every start); the HTTP clients ask it (SegflowCore's HTTPLibrary) before they make a URLSession.
        .target(name: "CCurlLoader", linkerSettings: [.linkedLibrary("dl")]),
        /// fork/exec with PR_SET_PDEATHSIG: plugin workers die with segflow (Foundation's Process cannot ask).
        .target(name: "CSpawn"),

        // MARK: - Layers
        .target(name: "SegflowCore", dependencies: [
            "CCurlLoader",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "SegflowSpec", dependencies: ["SegflowCore", "CYAML"]),
        .target(name: "SegflowGraph", dependencies: ["SegflowCore", "SegflowSpec"]),
        .target(name: "SegflowStore", dependencies: [
            "SegflowCore", "SegflowGraph", "CFileSync",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        .target(name: "SegflowImaging", dependencies: ["CImageShim", "CFontShim"]),
        // The dense CRF's per-pixel step in AVX-512, picked at run time (Swift cannot target one function).
        .target(name: "CDenseCRF"),
        // The git commit of the build (`make` writes Sources/CBuildInfo/commit.h; see build_info.c).
        .target(name: "CBuildInfo"),
        .target(name: "SegflowVision", dependencies: ["SegflowImaging", "CDenseCRF"]),
        .target(name: "SegflowVLM", dependencies: ["SegflowCore"]),
        // Remote caches (S3-compatible buckets, shared folders) beside the local store; SigV4 on swift-crypto.
        .target(name: "SegflowRemote", dependencies: [
            "SegflowCore", "SegflowGraph", "SegflowStore",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "SegflowStages", dependencies: [
            "SegflowCore", "SegflowSpec", "SegflowGraph", "SegflowStore",
            "SegflowImaging", "SegflowVision", "SegflowVLM", "CSpawn",
        ]),
        .target(name: "SegflowEngine", dependencies: [
            "SegflowCore", "SegflowSpec", "SegflowGraph", "SegflowStore", "SegflowStages", "SegflowRemote",
        ]),
        .target(name: "SegflowCLI", dependencies: [
            "SegflowEngine", "CBuildInfo",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "segflow", dependencies: ["SegflowCLI"]),

        // MARK: - Tests
        // What several test targets share (a temporary folder per test); a library of the tests only.
        .target(name: "SegflowTestSupport", path: "Tests/SegflowTestSupport"),
        .testTarget(name: "SegflowCoreTests", dependencies: ["SegflowCore"]),
        .testTarget(name: "SegflowSpecTests", dependencies: ["SegflowSpec", "SegflowTestSupport"]),
        .testTarget(name: "SegflowGraphTests", dependencies: ["SegflowGraph", "SegflowStages"]),
        .testTarget(name: "SegflowStoreTests", dependencies: ["SegflowStore", "SegflowTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SegflowImagingTests", dependencies: ["SegflowImaging"]),
        .testTarget(name: "SegflowVisionTests", dependencies: ["SegflowVision", "SegflowImaging"]),
        .testTarget(name: "SegflowVLMTests", dependencies: ["SegflowVLM"]),
        .testTarget(name: "SegflowRemoteTests", dependencies: ["SegflowRemote", "SegflowEngine", "SegflowStages"]),
        // Runs the built `segflow` binary: --version, dag, make install.
        .testTarget(name: "SegflowCLITests", dependencies: ["SegflowStages"]),
        .testTarget(name: "SegflowEngineTests", dependencies: [
            "SegflowEngine", "SegflowStages", "SegflowImaging", "SegflowVLM", "SegflowTestSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
    ],
    // Swift 5 mode: the engine shares state across threads behind locks it owns.
    swiftLanguageModes: [.v5]
)

// libFuzzer targets (fuzz/), each feeding one input to a parser or decoder the engine reads untrusted
// files with. Only with SEGFLOW_FUZZ=1 and `--sanitize fuzzer --sanitize address`, where libFuzzer
// supplies `main` (they do not link otherwise): `bash fuzz/run.sh [SECONDS]`.
if ProcessInfo.processInfo.environment["SEGFLOW_FUZZ"] == "1" {
    for (name, layers) in [("FuzzPipeline", ["SegflowSpec", "SegflowGraph", "SegflowStages"]),
                           ("FuzzImage", ["SegflowImaging"]), ("FuzzNPY", ["SegflowImaging"])] {
        package.targets.append(.executableTarget(name: name, dependencies: layers.map { .target(name: $0) },
                                                 path: "fuzz/\(name)"))
    }
}
