"""Start-up checks: the model that will serve is loaded and run on the probe sentences before the
server accepts a request, and any failure stops the whole server with one line.

BentoML restarts a worker whose start-up fails, forever, while its supervisor keeps the port and
answers nothing. So the check first runs where ``bentoml serve`` imports the service, before any
worker exists (a failure there exits the command with status 2), and again in the worker on the
classifier it actually serves (a failure there stops the supervisor too).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from stance.backends import TORCH, OnnxInt8Runner
from stance.integrity import IntegrityError, verify_probe
from stance.model import ModelError, StanceClassifier
from stance.model_dir import ModelDir

log = logging.getLogger("stance.service")
EXIT_BAD_MODEL = 2


class StartupError(RuntimeError):
    """The model cannot serve; the message is one line."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load_verified(model_dir: Path, warn: bool = True) -> tuple[StanceClassifier, str]:
    """(classifier, version): the loaded classifier after its probe check, and its ``version`` (the
    short digest of the file it serves, as batch rows record it). Raises StartupError."""
    try:
        classifier = StanceClassifier.load(model_dir, device="auto")
    except ModelError as exc:
        raise StartupError(str(exc)) from exc
    except Exception as exc:  # a truncated tokenizer, an unreadable metrics.json, bad weights…
        raise StartupError(f"model {model_dir} cannot be loaded: {_one_line(exc)}") from exc
    fell_back = (classifier.backend == TORCH and classifier.device.type == "cpu"
                 and ModelDir(model_dir).has(OnnxInt8Runner.file))
    if fell_back and warn:
        log.warning("serving the fp32 (torch) model instead of %s: %s", OnnxInt8Runner.file,
                    classifier.backend_reason)
    try:
        digest = verify_probe(classifier, model_dir)
    except IntegrityError as exc:
        raise StartupError(str(exc)) from exc
    except Exception as exc:  # the model loaded but cannot run
        raise StartupError(f"model {model_dir} fails on the probe sentences: {_one_line(exc)}") from exc
    if digest != classifier.digest:  # replaced between loading and the check
        raise StartupError(f"model {model_dir}: {classifier.served_file.name} changed while it was loaded")
    return classifier, classifier.version


def preflight_or_exit(model_dir: Path) -> None:
    """Run the check in this process and exit with one line and status 2 if it fails."""
    try:
        classifier, _ = load_verified(model_dir, warn=False)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_BAD_MODEL) from None
    classifier.close()


def stop_server(message: str) -> None:
    """In a worker: log one line, stop the supervisor (so nothing restarts us) and exit."""
    log.error("%s", message)
    print(f"error: {message}", file=sys.stderr, flush=True)
    os.kill(os.getppid(), signal.SIGTERM)
    os._exit(EXIT_BAD_MODEL)
