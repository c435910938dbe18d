import Foundation
import XCTest
import SegflowStages

/// `make install`: an installed segflow finds its plugins from its own path, from any folder, with no
/// SEGFLOW_PLUGIN_PATH; a segflow that does not see them says where they are.
final class InstallTests: XCTestCase {
    /// `make install` with the binary these tests run (`-o release`: do not rebuild it in release here).
    func install(_ vars: [String]) throws {
        let r = try CLI.run(["make", "-C", CLI.repo, "--no-print-directory", "-o", "release", "install", "SEGFLOW=\(CLI.binary)"] + vars,
                            environment: CLI.environment())
        XCTAssertEqual(r.status, 0, "make install failed:\n\(r.stdout)\n\(r.stderr)")
    }

    func testInstalledSegflowPlansTorchStagesFromAnUnrelatedFolder() throws {
        let tmp = try CLI.tempDir("install")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let prefix = tmp + "/home/.local"
        try install(["PREFIX=\(prefix)"])
        let installed = prefix + "/bin/segflow"
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: installed))
        XCTAssertTrue(FileManager.default.fileExists(atPath: prefix + "/share/segflow/plugins/torch/plugin.yaml"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: prefix + "/share/segflow/plugins/torch/tests"), "plugin tests stay in the checkout")

        // A project folder of one's own, nowhere near the checkout.
        let project = tmp + "/project"
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        let data = CLI.repo + "/pipelines/data/camvid-tiny"
        try """
        version: 1
        name: mine
        classes: \(data)/classes.yaml
        stages:
          train: {type: imageFolder, params: {images: \(data)/train, masks: \(data)/trainannot, limit: 2}}
          labels: {type: maskLabels, inputs: {masks: train.masks}}
          classifier: {type: classifierTrain, inputs: {images: train.images, labels: labels.labels}, params: {epochs: 1}}
          heat: {type: hirescam, inputs: {images: train.images, model: classifier.model}}
        """.write(toFile: project + "/p.yaml", atomically: true, encoding: .utf8)
        let env = CLI.environment()
        let plan = try CLI.run([installed, "plan", "p.yaml", "--cache", tmp + "/cache"], cwd: project, environment: env)
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("classifierTrain") && plan.stdout.contains("hirescam"), plan.stdout)

        // The installed plugin is the same plugin: the same environment (keyed by its requirements).
        let envPath = try CLI.run([installed, "plugins", "env", "torch"], cwd: project, environment: env)
        XCTAssertEqual(envPath.status, 0, envPath.stderr)
        let checkout = PluginEnvironment(plugin: try Plugin.load(directory: CLI.repo + "/plugins/torch")).path
        XCTAssertEqual(envPath.stdout.trimmingCharacters(in: .whitespacesAndNewlines), checkout)

        // The build in the checkout does not search that prefix: the error names the plugin and where it is.
        let missing = try CLI.run([CLI.binary, "plan", "p.yaml", "--cache", tmp + "/cache"], cwd: project,
                                  environment: CLI.environment(setting: ["HOME": tmp + "/home"]))
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("unknown stage type 'hirescam'"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("is a stage of the plugin 'torch' at \(prefix)/share/segflow/plugins/torch"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("SEGFLOW_PLUGIN_PATH=\(prefix)/share/segflow/plugins"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("plugins searched: \(project)/plugins (beside the pipeline, absent)"), missing.stderr)
        // `segflow stages TYPE` from there says the same instead of listing nothing.
        let stages = try CLI.run([CLI.binary, "stages", "hirescam", "--cache", tmp + "/cache"], cwd: project,
                                 environment: CLI.environment(setting: ["HOME": tmp + "/home"]))
        XCTAssertEqual(stages.status, 2)
        XCTAssertTrue(stages.stderr.contains("is a stage of the plugin 'torch' at \(prefix)/share/segflow/plugins/torch"), stages.stderr)
    }

    func testDestdirStagesTheInstall() throws {
        let tmp = try CLI.tempDir("destdir")
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try install(["DESTDIR=\(tmp)/stage", "PREFIX=/opt/sf"])
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: tmp + "/stage/opt/sf/bin/segflow"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/stage/opt/sf/share/segflow/plugins/torch/worker.py"))
    }
}
