"""Writing the int8 fast path for a trained model (training time, ``stance export-fast``).

Serving never imports this package (tests/test_layout.py checks it): the runtime is
stance/backends/onnx_int8.py. Chosen by measurement on the 2-core AMD EPYC development machine
(AVX-512 VNNI; BENCHMARKS.md has the run, candidates included):

- Export with eager attention and the last encoder layer computed for the first ([CLS]) position
  only: the classification head reads nothing else, so the other positions' output projection and
  feed-forward in that layer are wasted work (about 11% of the time here; logits equal to 1e-6).
- Fuse with ONNX Runtime's BERT optimiser (one Attention op per layer, 153 nodes instead of ~850),
  then undo one fusion: ONNX Runtime's (Skip)LayerNormalization CPU kernel took 17% of the time
  (~59 us per 30x384 tensor here), while centring the rows and calling its SimplifiedLayerNormalization
  (RMS) kernel gives the same numbers (fp32 logits equal to 3e-6) in ~12 us.
- Quantise: int8 weights per output channel for MatMul and Attention; embeddings stay fp32
  (quantising them cost agreement and gained no speed). Torch's dynamic quantisation was slower and
  lost 0.019 macro-F1 (and is deprecated); ``MatMulNBits`` 8-bit ran at half the speed.
- Fix the activation scales. ONNX Runtime's dynamic quantisation scales each matrix product's input
  by that whole tensor's range, so in a padded batch a sentence's probabilities depended on its
  neighbours (14 of 568 test labels changed), which forced one sentence per run. Most ranges are set
  by a few outlier dimensions that every sentence has (after a layer norm, a typical sentence's
  maximum is 28.4 against 28.5 over 800 training sentences), so scales fixed from training sentences
  at export cost little: agreement with fp32 on the validation and seed sentences stayed at 0.987.
  With fixed scales the runtime batches sentences (stance/backends/onnx_int8.py says what it gained).

Modules: ``onnx_graph`` (the fp32 export and its graph rewrites), ``quantise`` (int8 weights,
activation scales fixed from training sentences, the whole build), ``quality`` (the check against
fp32 that goes to ``metrics.json["fast"]``, and adding the file to an existing model directory).
"""
