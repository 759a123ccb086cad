"""Paddle Inference predictor for an exported model (CPU / oneDNN, GPU, TensorRT).

Paddle 3 exports a PIR program (``model.json``). Paddle Inference runs it only
with the new IR and the new executor enabled; without them
``enable_memory_optim()`` fails on such a model (measured on 3.0-3.3.1), so both
are always switched on here.
"""
import os

import numpy as np
import paddle
import paddle.inference as paddle_infer

from paddleseg_fastfcn.utils.device import INFERENCE_PRECISIONS
from paddleseg_fastfcn.utils.export_files import ExportFileError


class DeployArgumentError(ValueError):
    """A deploy option that the device, build or backend cannot honour."""


def load_failure(path, runtime, error):
    """``ExportFileError`` naming ``path`` for a runtime that could not load it.

    The files were checked first (``DeployConfig.check_files``); what is left is a
    well-formed file the runtime cannot build (an unknown op, a dangling value), which
    its C++ loader reports as a multi-line exception of one of several types; its
    last line says what it found.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    last = lines[-1] if lines else type(error).__name__
    return ExportFileError('{}: {} cannot load it: {}'.format(path, runtime, last[:300]))


def default_trt_shapes(batch_size=1):
    """TensorRT ``(min, opt, max)`` input shapes when they are not tuned from the images."""
    return [1, 3, 64, 64], [batch_size, 3, 512, 512], [batch_size, 3, 2048, 2048]


def check_device(device, precision, use_trt):
    """Reject device / precision combinations with a clear message.

    CPU inference runs fp32 only (int8 needs a quantized model, fp16 has no CPU
    kernels for this model); GPU runs fp32 and fp16, int8 only through TensorRT.
    """
    if precision not in INFERENCE_PRECISIONS:
        raise DeployArgumentError('--precision must be one of {}, got {!r}'.format(INFERENCE_PRECISIONS,
                                                                                   precision))
    if device == 'cpu':
        if use_trt:
            raise DeployArgumentError('--use_trt True needs --device gpu (TensorRT runs on NVIDIA GPUs)')
        if precision != 'fp32':
            raise DeployArgumentError('--precision {} is not available with --device cpu; use fp32 '
                                      '(fp16 / int8 need --device gpu, int8 also --use_trt True)'.format(precision))
    elif device == 'gpu':
        if not paddle.device.is_compiled_with_cuda():
            raise DeployArgumentError('--device gpu, but this paddlepaddle build has no CUDA support '
                                      '(install paddlepaddle-gpu, or use --device cpu)')
        if precision == 'int8' and not use_trt:
            raise DeployArgumentError('--precision int8 on GPU needs --use_trt True')
    else:
        raise DeployArgumentError("--device must be 'cpu' or 'gpu', got {!r}".format(device))


class PaddlePredictor:
    """Runs a batch ``[N, 3, H, W]`` float32 through Paddle Inference.

    Args:
        model_file, params_file (str): exported program and weights.
        device (str): ``cpu`` | ``gpu``.
        enable_mkldnn (bool): oneDNN kernels on CPU (explicitly off otherwise, since
            Paddle may enable them by default).
        cpu_threads (int): math library threads on CPU.
        use_trt (bool): TensorRT subgraphs on GPU (PIR-TRT: the program is converted
            once with ``paddle.tensorrt.convert`` into ``trt_dir``).
        precision (str): ``fp32`` | ``fp16`` | ``int8``.
        min_subgraph_size (int): smallest op group handed to TensorRT.
        trt_shapes (tuple | None): ``(min, opt, max)`` input shapes for TensorRT
            (default ``default_trt_shapes()``).
        trt_dir (str | None): where the TensorRT program is written.
    """

    def __init__(self, model_file, params_file, device='cpu', enable_mkldnn=False, cpu_threads=1,
                 use_trt=False, precision='fp32', min_subgraph_size=3, trt_shapes=None, trt_dir=None):
        check_device(device, precision, use_trt)
        if use_trt:
            model_file, params_file = self._convert_trt(
                model_file, precision, min_subgraph_size, trt_shapes, trt_dir)
        config = paddle_infer.Config(model_file, params_file)
        config.enable_new_ir(True)
        config.enable_new_executor(True)
        config.enable_memory_optim()
        config.switch_ir_optim(True)
        if device == 'gpu':
            gpu_precision = (paddle_infer.PrecisionType.Half if precision == 'fp16' and not use_trt
                             else paddle_infer.PrecisionType.Float32)
            config.enable_use_gpu(500, 0, gpu_precision)
        else:
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(int(cpu_threads))
            if enable_mkldnn:
                config.enable_onednn()
                # Dynamic H/W creates one oneDNN primitive set per shape; cap the cache.
                config.set_onednn_cache_capacity(10)
            else:
                config.disable_onednn()
        config.disable_glog_info()
        try:
            self.predictor = paddle_infer.create_predictor(config)
        except Exception as e:  # noqa: BLE001 - see load_failure
            raise load_failure(model_file, 'Paddle Inference', e) from None
        self.input_name = self.predictor.get_input_names()[0]
        self.output_name = self.predictor.get_output_names()[0]

    @staticmethod
    def _convert_trt(model_file, precision, min_subgraph_size, trt_shapes, trt_dir):
        try:
            from paddle.tensorrt.export import Input, PrecisionMode, TensorRTConfig
        except ImportError as e:
            raise DeployArgumentError('--use_trt True needs a paddlepaddle-gpu build with TensorRT '
                                      '(paddle.tensorrt is missing)') from e
        if trt_shapes is None:
            trt_shapes = default_trt_shapes()
        trt_dir = trt_dir or os.path.join(os.path.dirname(model_file), 'trt_' + precision)
        os.makedirs(trt_dir, exist_ok=True)
        trt_config = TensorRTConfig(
            inputs=[Input(min_input_shape=trt_shapes[0], optim_input_shape=trt_shapes[1],
                          max_input_shape=trt_shapes[2], name='x')],
            min_subgraph_size=int(min_subgraph_size),
            save_model_dir=os.path.join(trt_dir, 'model'),
            precision_mode={'fp32': PrecisionMode.FP32, 'fp16': PrecisionMode.FP16,
                            'int8': PrecisionMode.INT8}[precision])
        # PIR-TRT: writes a program whose TensorRT subgraphs are engine ops.
        paddle.tensorrt.convert(model_file, trt_config)
        return trt_config.save_model_dir + '.json', trt_config.save_model_dir + '.pdiparams'

    def run(self, batch):
        """``batch``: ``[N, 3, H, W]`` float32 -> the model's output as numpy."""
        handle = self.predictor.get_input_handle(self.input_name)
        handle.reshape(batch.shape)
        handle.copy_from_cpu(np.ascontiguousarray(batch, dtype='float32'))
        self.predictor.run()
        return self.predictor.get_output_handle(self.output_name).copy_to_cpu()
