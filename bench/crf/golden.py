"""Golden marginals for Tests/SegflowVisionTests/DenseCRFTests.testMatchesPydensecrfGolden.

Builds the same 40x30 input as the Swift test (same LCG), runs pydensecrf2 1.1 and
prints the label map and the marginals the test pins. Run with the compare.py venv:
    /tmp/segflow-pydensecrf-venv/bin/python bench/crf/golden.py
"""
import numpy as np
import pydensecrf.densecrf as dcrf
from pydensecrf.utils import unary_from_softmax
W, H, C = 40, 30, 3
state = 12345
def rnd():
    global state
    state = (state * 1103515245 + 12345) % 2147483648
    return state / 2147483648.0
rgb = np.zeros((H, W, 3), np.uint8)
truth = np.zeros((H, W), np.int64)
for y in range(H):
    for x in range(W):
        inside = (x - 20) ** 2 + (y - 15) ** 2 < 81
        top = y < 6
        t = 2 if top else (1 if inside else 0)
        truth[y, x] = t
        base = [40, 200, 120][t]
        for ch in range(3):
            rgb[y, x, ch] = base + int(rnd() * 30)
probs = np.zeros((C, H, W), np.float32)
for y in range(H):
    for x in range(W):
        s = [0.2 + rnd() for _ in range(C)]
        s[truth[y, x]] += 0.25
        tot = s[0] + s[1] + s[2]
        for c in range(C):
            probs[c, y, x] = np.float32(s[c] / tot)
d = dcrf.DenseCRF2D(W, H, C)
d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
d.addPairwiseGaussian(sxy=3, compat=3)
d.addPairwiseBilateral(sxy=80, srgb=13, rgbim=rgb, compat=4)
q = np.array(d.inference(5)).reshape(C, H, W)
lab = q.argmax(0)
print("unary acc", (probs.argmax(0) == truth).mean(), "crf acc", (lab == truth).mean())
print("".join(str(v) for v in lab.flatten()))
print("q[:,0,0]", q[:, 0, 0].tolist(), "q[:,15,20]", q[:, 15, 20].tolist())
print("unary-crf diff", (probs.argmax(0) != lab).sum(), "crf-truth diff", (lab != truth).sum())
for (y, x) in [(0, 0), (10, 5), (15, 20), (20, 30), (29, 39), (7, 13)]:
    print((y, x), [float(np.float32(v)) for v in q[:, y, x]])
