"""segflow's PyTorch plugin: classifier training, CAMs and segmentation stages.

worker.py reads one request (see docs/PLUGIN-PROTOCOL.md), `stages` dispatches it.
"""
