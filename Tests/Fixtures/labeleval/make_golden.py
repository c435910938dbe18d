"""Golden values for labelEval: scikit-learn's precision_recall_fscore_support on image-level label sets.

Run with a Python that has scikit-learn (e.g. the torch plugin's venv: `$(segflow plugins env torch)/bin/python`):
    python make_golden.py > golden.json
The label sets are made here from a seeded generator; some classes are never predicted (curb), some never
true (water), one is neither (unused), and predictions carry a name that is no class (puddle).
"""
import json
import random

import numpy as np
import sklearn
from sklearn.metrics import precision_recall_fscore_support

CLASSES = ["sky", "road", "curb", "grass", "water", "tree", "unused"]
rng = random.Random(14)

items = []
for i in range(40):
    truth = [c for c in ["sky", "road", "curb", "grass", "tree"] if rng.random() < 0.5]
    scores = {}
    for c in CLASSES:
        s = rng.random()
        if c == "curb":
            s *= 0.35          # the labeller never gets curb above 0.35
        elif c == "unused":
            s *= 0.05
        elif c in truth:
            s = min(1.0, s * 0.6 + 0.4)  # true classes score higher, not always
        else:
            s *= 0.7
        scores[c] = round(s, 4)
    predicted = [c for c in CLASSES if scores[c] >= 0.5 and c not in ("curb", "unused")]
    if i % 7 == 3:
        predicted.append("puddle")
    items.append({"stem": f"f{i:03d}", "truth": truth, "predicted": predicted, "scores": scores})


def evaluate(pred_sets):
    y_true = np.array([[c in it["truth"] for c in CLASSES] for it in items], dtype=int)
    y_pred = np.array([[c in p for c in CLASSES] for p in pred_sets], dtype=int)
    present = [k for k, c in enumerate(CLASSES) if y_true[:, k].any() or y_pred[:, k].any()]
    out = {}
    for avg in ("macro", "micro"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=present, average=avg, zero_division=0)
        out[avg] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=present, average=None, zero_division=0)
    out["perClass"] = {CLASSES[k]: {"precision": float(p[j]), "recall": float(r[j]), "f1": float(f[j]), "support": int(s[j])}
                       for j, k in enumerate(present)}
    return out


thresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
golden = {
    "sklearn": sklearn.__version__,
    "classes": CLASSES,
    "items": items,
    "labels": evaluate([it["predicted"] for it in items]),
    "thresholds": [{"threshold": t, **evaluate([[c for c in CLASSES if it["scores"][c] >= t] for it in items])} for t in thresholds],
}
print(json.dumps(golden, indent=1, sort_keys=True))
