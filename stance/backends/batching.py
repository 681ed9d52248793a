"""Padded batches and CPU threads, shared by the backends."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

THREADS_ENV = "STANCE_THREADS"
# Padding tokens a padded batch may add, as a share of its real tokens (see length_chunks).
MAX_PADDING = 0.25


def cpu_threads() -> int:
    """``$STANCE_THREADS``, else the physical cores this process may run on."""
    if os.environ.get(THREADS_ENV):
        return max(1, int(os.environ[THREADS_ENV]))
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or available
    except ImportError:
        physical = available
    # Hyper-threads share one core's vector units: a second int8 worker on them only adds contention.
    return max(1, min(available, physical))


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token ids to the longest sequence: (input_ids, attention_mask), int64."""
    width = max(len(seq) for seq in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        input_ids[row, :len(seq)] = seq
        attention_mask[row, :len(seq)] = 1
    return input_ids, attention_mask


def length_buckets(lengths: Sequence[int], batch_size: int):
    """Index batches of similar length, so padding per batch stays small."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for i in range(0, len(order), batch_size):
        yield order[i:i + batch_size]


def length_chunks(lengths: Sequence[int], size: int, max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Indices in chunks of at most ``size``, longest first, each padded by at most ``max_padding``.

    Longest first, so no worker is left with a long sentence at the end. A chunk closes early when
    padding everything to its first (longest) sentence would add more than ``max_padding`` of its
    real tokens: in requests of 64 news sentences, fixed chunks of 32 padded a few 100-token
    sentences' companions to their length and ran at half the speed of chunks of 8.
    """
    chunks: list[list[int]] = []
    tokens = 0  # real tokens in the last chunk
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        chunk = chunks[-1] if chunks else []
        if chunk and len(chunk) < size and \
                (len(chunk) + 1) * lengths[chunk[0]] <= (1 + max_padding) * (tokens + lengths[i]):
            chunk.append(i)
            tokens += lengths[i]
        else:
            chunks.append([i])
            tokens = lengths[i]
    return chunks
