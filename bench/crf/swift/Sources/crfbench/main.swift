import Foundation
import SegflowVision

// crfbench [--threads N] [--iterations N] MANIFEST
// Each manifest line: RGB.npy (uint8 H,W,3)  PROBS.npy (float32 C,H,W)  OUT.npy
// Writes OUT.npy (uint8 H,W labels) and prints one line per image:
//   <index> <seconds> <cpu seconds>   (unary + inference + argmax, file I/O excluded;
//   cpu: process CPU time of all threads over the same span, steadier on a busy machine)

var threads = 2
var iterations = 10
var manifest: String?
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--threads": threads = Int(args.popFirst() ?? "") ?? threads
    case "--iterations": iterations = Int(args.popFirst() ?? "") ?? iterations
    default: manifest = a
    }
}
guard let manifest else {
    FileHandle.standardError.write(Data("usage: crfbench [--threads N] [--iterations N] MANIFEST\n".utf8))
    exit(2)
}
do {
    let lines = try String(contentsOfFile: manifest, encoding: .utf8).split(separator: "\n")
    var params = DenseCRFParams()
    params.iterations = iterations
    for (index, line) in lines.enumerated() {
        let parts = line.split(separator: " ").map(String.init)
        guard parts.count == 3 else { continue }
        let rgbArray = try NPY.read(parts[0])
        let probArray = try NPY.read(parts[1])
        let rgb = try NPY.bytes(rgbArray)
        let probs = try NPY.floats(probArray)
        let (height, width) = (rgbArray.shape[0], rgbArray.shape[1])
        let classes = probArray.shape[0]
        let start = DispatchTime.now().uptimeNanoseconds
        let c0 = cpuSeconds()
        let unary = CRFUnary.fromProbabilities(probs, classes: classes, pixels: width * height, normalize: false)
        let labels = DenseCRF.inferLabels(unary: unary, classes: classes, width: width, height: height,
                                          rgb: rgb, params: params, threads: threads)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = cpuSeconds() - c0
        try NPY.write(parts[2], descr: "|u1", shape: [height, width], payload: Data(labels))
        print(index, String(format: "%.6f %.6f", seconds, cpu))
    }
} catch {
    FileHandle.standardError.write(Data("crfbench: \(error)\n".utf8))
    exit(1)
}

/// Process CPU time (all threads).
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
