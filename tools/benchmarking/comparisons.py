"""The side-by-side ratios of the benchmark.

A ratio is ``slow / fast`` of median times (or of peak memory), so > 1 means the
second-named case wins. The targets these ratios are read against, and the
paper's figures, are in docs/benchmark.md: this module only measures.
"""
import os

import numpy as np

# (slow case, fast case, label); docs/benchmark.md's table of targets uses the same labels.
SPEEDUPS = [
    ('enc_os8_r50', 'enc_jpu_r50', 'EncNet+JPU R50 vs EncNet OS8 R50 (eval)'),
    ('psp_os8_r50', 'psp_jpu_r50', 'PSP+JPU R50 vs PSP OS8 R50 (eval)'),
    ('deeplabv3_os8_r50', 'deeplabv3_jpu_r50', 'DeepLabV3+JPU R50 vs DeepLabV3 OS8 R50 (eval)'),
    ('enc_os8_r101', 'enc_jpu_r101', 'EncNet+JPU R101 vs EncNet OS8 R101 (eval)'),
    ('deploy_paddle_inference_onednn_enc_os8_r50', 'deploy_paddle_inference_onednn',
     'EncNet+JPU R50 vs EncNet OS8 R50 (Paddle Inference, oneDNN)'),
    ('deploy_onnxruntime_enc_os8_r50', 'deploy_onnxruntime', 'EncNet+JPU R50 vs EncNet OS8 R50 (ONNX Runtime)'),
    ('deploy_paddle_inference_onednn_enc_os8_r101', 'deploy_paddle_inference_onednn_enc_jpu_r101',
     'EncNet+JPU R101 vs EncNet OS8 R101 (Paddle Inference, oneDNN)'),
    ('deploy_onnxruntime_enc_os8_r101', 'deploy_onnxruntime_enc_jpu_r101',
     'EncNet+JPU R101 vs EncNet OS8 R101 (ONNX Runtime)'),
    ('paddleseg_fastfcn', 'enc_jpu_r50', 'EncNet+JPU R50 vs PaddleSeg 2.8 FastFCN shipped config (eval)'),
    ('paddleseg_encnet', 'enc_jpu_r101', 'EncNet+JPU R101 vs PaddleSeg 2.8 ENCNet R101 shipped config (eval)'),
    ('enc_jpu_r50', 'paddleseg_fastscnn', 'PaddleSeg FastSCNN vs EncNet+JPU R50 (eval, lightweight reference)'),
    ('enc_jpu_r50', 'deploy_paddle_inference', 'Paddle Inference oneDNN off vs dygraph (EncNet+JPU R50)'),
    ('enc_jpu_r50', 'deploy_paddle_inference_onednn', 'Paddle Inference oneDNN on vs dygraph (EncNet+JPU R50)'),
    ('enc_jpu_r50', 'deploy_onnxruntime', 'ONNX Runtime vs dygraph (EncNet+JPU R50)'),
    ('train_paddleseg_fastfcn', 'train_enc_jpu_r50', 'Training step: EncNet+JPU R50 vs PaddleSeg 2.8 FastFCN'),
    ('encoding_paddleseg', 'encoding_ours', 'Encoding fwd+bwd time: ours vs PaddleSeg 2.8'),
    # The PyTorch peer, read the other way round: ours / official time (< 1: ours is faster).
    ('enc_jpu_r50', 'torch_enc_jpu_r50', 'EncNet+JPU R50 time, ours / official PyTorch: dygraph'),
    ('deploy_paddle_inference_onednn', 'torch_enc_jpu_r50',
     'EncNet+JPU R50 time, ours / official PyTorch: Paddle Inference (oneDNN)'),
    ('deploy_onnxruntime', 'torch_enc_jpu_r50', 'EncNet+JPU R50 time, ours / official PyTorch: ONNX Runtime'),
    ('enc_os8_r50', 'torch_enc_os8_r50', 'EncNet OS8 R50 time, ours / official PyTorch: dygraph'),
    ('deploy_paddle_inference_onednn_enc_os8_r50', 'torch_enc_os8_r50',
     'EncNet OS8 R50 time, ours / official PyTorch: Paddle Inference (oneDNN)'),
    ('deploy_onnxruntime_enc_os8_r50', 'torch_enc_os8_r50',
     'EncNet OS8 R50 time, ours / official PyTorch: ONNX Runtime'),
    ('train_enc_jpu_r50', 'torch_train_enc_jpu_r50', 'Training step time, ours / official PyTorch: EncNet+JPU R50'),
]
# A region that allocates (almost) nothing has a peak near 0 MiB; the memory
# ratio divides by at least this much so it cannot become infinite.
MEMORY_FLOOR_MB = 1.0
DEPLOY_CASES = ('deploy_paddle_inference', 'deploy_paddle_inference_onednn', 'deploy_onnxruntime')
# A backend whose logits differ from dygraph's by more than this (relative to the
# largest logit) is wrong, and cannot count as the best backend.
DEPLOY_REL_TOLERANCE = 1e-3


def _ok(results, name):
    r = results.get(name)
    return r is not None and r.get('status') == 'ok'


def _why(results, name):
    """``name``, with the reason a case could not run here (no torch, no checkout) if it says one."""
    r = results.get(name) or {}
    return '{} ({})'.format(name, r['error']) if r.get('status') == 'not measured' else name


def achieved_gflops(result):
    """2 x MACs / median time in 1e9 FLOP/s (one multiply-add = 2 FLOPs, as the GEMM rate)."""
    if not result.get('macs') or not result.get('median_s'):
        return None
    return 2.0 * result['macs'] / result['median_s'] / 1e9


def deploy_correct(result):
    return result.get('max_abs_diff') is not None and \
        result['max_abs_diff'] <= DEPLOY_REL_TOLERANCE * max(1.0, result.get('reference_max_abs', 1.0))


def _row(label, value, detail=''):
    return {'comparison': label, 'ratio': value, 'detail': detail}


def encoding_agreement(workdir):
    """Max |ours - PaddleSeg's| of the Encoding outputs and input gradients (None if missing)."""
    diffs = {}
    for what in ('output', 'input_grad'):
        paths = [os.path.join(workdir, 'encoding_{}_{}.npy'.format(impl, what)) for impl in ('ours', 'paddleseg')]
        if not all(os.path.isfile(p) for p in paths):
            return None
        a, b = (np.load(p) for p in paths)
        diffs[what] = {'max_abs_diff': float(np.abs(a - b).max()), 'max_abs': float(np.abs(b).max())}
    return diffs


def compare(results, workdir):
    """All comparison rows (list of dicts) for the cases that ran."""
    rows = []
    for slow, fast, label in SPEEDUPS:
        if slow not in results and fast not in results:
            continue
        value, detail = None, ''
        if _ok(results, slow) and _ok(results, fast):
            value = results[slow]['median_s'] / results[fast]['median_s']
        else:
            detail = 'not measured: ' + ', '.join(_why(results, n) for n in (slow, fast) if not _ok(results, n))
        wrong = [n for n in (slow, fast) if n.startswith('deploy_') and _ok(results, n)
                 and not deploy_correct(results[n])]
        if wrong:  # a fast wrong backend proves nothing
            value = None
            detail = 'WRONG OUTPUT: ' + ', '.join('{} max |diff| {:.3g} vs dygraph'.format(
                n, results[n]['max_abs_diff']) for n in wrong)
        rows.append(_row(label, value, detail))
    if 'encoding_ours' in results or 'encoding_paddleseg' in results:
        rows.append(_encoding_memory_row(results, workdir))
    if any(n in results for n in DEPLOY_CASES):
        rows.append(_gemm_fraction_row(results))
    return rows


def _encoding_memory_row(results, workdir):
    """Peak memory of the Encoding rows: Paddle's tensor-allocation peak above the
    start of the measured region (exactly the layer's tensors); RSS in the detail."""
    label = 'Encoding fwd+bwd peak memory: ours vs PaddleSeg 2.8'
    if not (_ok(results, 'encoding_ours') and _ok(results, 'encoding_paddleseg')):
        return _row(label, None, 'not measured')
    ours, theirs = results['encoding_ours'], results['encoding_paddleseg']
    key = 'paddle_alloc_peak_above_start_mb'
    value = theirs[key] / max(ours[key], MEMORY_FLOOR_MB)
    detail = 'Paddle tensors peak {:.1f} MiB vs {:.1f} MiB; RSS peak above start {:.1f} vs {:.1f} MiB'.format(
        ours[key], theirs[key], ours['peak_rss_delta_mb'], theirs['peak_rss_delta_mb'])
    agree = encoding_agreement(workdir)
    if agree:
        detail += '; max |diff| output {:.2g} (of {:.2g}), input grad {:.2g} (of {:.2g})'.format(
            agree['output']['max_abs_diff'], agree['output']['max_abs'],
            agree['input_grad']['max_abs_diff'], agree['input_grad']['max_abs'])
    row = _row(label, value, detail)
    row['agreement'] = agree
    return row


def _gemm_fraction_row(results):
    label = 'Best deploy backend (EncNet+JPU R50): achieved GFLOP/s / numpy GEMM GFLOP/s'
    if not _ok(results, 'gemm'):
        return _row(label, None, 'GEMM rate not measured')
    candidates = [(achieved_gflops(results[n]), n) for n in DEPLOY_CASES
                  if _ok(results, n) and deploy_correct(results[n]) and achieved_gflops(results[n])]
    if not candidates:
        return _row(label, None, 'no deploy backend ran with correct output')
    best, name = max(candidates)
    gemm = results['gemm']['gflops']
    return _row(label, best / gemm, '{}: {:.1f} GFLOP/s of {:.1f}'.format(name, best, gemm))
