"""Dygraph inference latency of one model (eval mode, no autograd)."""
import paddle

from paddleseg_fastfcn.utils.model_cost import MacCounter, count_parameters

from .memory import PaddleHostPeak, PeakRSS
from .model_zoo import build_benchmark_model
from .runtime import gpu_peak_memory_mb, image_batch, synchronize
from .timing import time_repeats


def run_eval(spec):
    """Time ``model(x)[0]`` at the spec's size; MACs are counted on the first warm-up call."""
    model, source = build_benchmark_model(spec['params']['model'], spec['num_classes'],
                                          spec.get('config_dir') or None)
    model.eval()
    height, width = spec['size']
    x = paddle.to_tensor(image_batch(spec['batch_size'], height, width))
    counter = MacCounter(model)

    def forward():
        return model(x)[0]

    with paddle.no_grad(), PeakRSS() as mem, PaddleHostPeak() as alloc:
        with counter:
            out = forward()
        timing = time_repeats(forward, max(0, spec['warmup'] - 1), spec['repeats'],
                              synchronize(spec['device']))
    return dict(timing, source=source, params=count_parameters(model), macs=counter.macs,
                output_shape=list(out.shape), gpu_peak_mb=gpu_peak_memory_mb(spec['device']),
                **mem.as_dict(), **alloc.as_dict())
