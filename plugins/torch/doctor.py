"""`segflow plugins doctor`: imports what the worker needs and says which device it would use."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402
import torchvision  # noqa: E402
import pytorch_grad_cam  # noqa: E402,F401
import segmentation_models_pytorch as smp  # noqa: E402

device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, smp {smp.__version__}; device auto -> {device}")
