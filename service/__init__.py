"""The stance HTTP service (BentoML): ``service.service:StanceService``."""

import os

# Serving must never reach a model hub. Set here, before any module of the package imports
# huggingface_hub, which reads these once at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
