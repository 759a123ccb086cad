"""ONNX Runtime predictor for the ONNX file export.py writes (``--onnx True``)."""
import numpy as np

from paddleseg_fastfcn.deploy.paddle_predictor import DeployArgumentError, load_failure
from paddleseg_fastfcn.utils.device import INFERENCE_PRECISIONS


class OnnxPredictor:
    """Runs a batch ``[N, 3, H, W]`` float32 through ONNX Runtime.

    Args:
        onnx_file (str): the ONNX model.
        device (str): ``cpu`` (CPUExecutionProvider) | ``gpu`` (CUDA, or TensorRT
            with ``use_trt``; needs the onnxruntime-gpu package).
        cpu_threads (int): intra-op threads.
        use_trt (bool): TensorrtExecutionProvider first.
        precision (str): ``fp32`` only: the ONNX graph is fp32.
    """

    def __init__(self, onnx_file, device='cpu', cpu_threads=1, use_trt=False, precision='fp32'):
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise DeployArgumentError('--backend onnxruntime needs the onnxruntime package') from e
        if precision not in INFERENCE_PRECISIONS:
            raise DeployArgumentError('--precision must be one of {}, got {!r}'.format(
                INFERENCE_PRECISIONS, precision))
        if precision != 'fp32':
            raise DeployArgumentError('--backend onnxruntime runs the fp32 ONNX graph only; '
                                      'got --precision {}'.format(precision))
        available = ort.get_available_providers()
        if device == 'gpu':
            wanted = (['TensorrtExecutionProvider'] if use_trt else []) + ['CUDAExecutionProvider']
            missing = [p for p in wanted if p not in available]
            if missing:
                raise DeployArgumentError('--backend onnxruntime --device gpu needs {} (this onnxruntime has {}; '
                                          'install onnxruntime-gpu)'.format(', '.join(missing), ', '.join(available)))
            providers = wanted
        elif device == 'cpu':
            if use_trt:
                raise DeployArgumentError('--use_trt True needs --device gpu')
            providers = ['CPUExecutionProvider']
        else:
            raise DeployArgumentError("--device must be 'cpu' or 'gpu', got {!r}".format(device))
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(cpu_threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # paddle2onnx leaves unused constants: warnings only
        try:
            self.session = ort.InferenceSession(onnx_file, options, providers=providers)
        except Exception as e:  # noqa: BLE001 - see paddle_predictor.load_failure
            raise load_failure(onnx_file, 'ONNX Runtime', e) from None
        self.input_name = self.session.get_inputs()[0].name

    def run(self, batch):
        """``batch``: ``[N, 3, H, W]`` float32 -> the model's output as numpy."""
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype='float32')})[0]
