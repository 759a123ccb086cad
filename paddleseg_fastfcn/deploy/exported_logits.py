"""An exported model as the "logits function" of ``core.inference``.

``core.inference`` holds the one whole-image / sliding-window / multi-scale + flip
protocol; it accepts any callable ``Tensor [1, C_in, h, w] -> Tensor [1, C, h, w]``.
``ExportedLogits`` makes a Paddle Inference or ONNX Runtime predictor such a callable,
so the exported model is evaluated and sliding-window-inferred by exactly the code
that runs the dygraph model.
"""
import numpy as np
import paddle

FLOAT_OUTPUT_OPS = ('none', 'softmax')


class ArgmaxExportError(ValueError):
    """An operation needs per-class scores, but the export outputs labels."""


def require_scores(deploy_cfg, what):
    """Raise ``ArgmaxExportError`` when ``deploy_cfg`` is an argmax export.

    Sliding windows and multi-scale / flip average per-class scores, and saved
    probabilities / logits are scores: none of them exists for a label map.

    Args:
        deploy_cfg (utils.deploy_yaml.DeployConfig): the export.
        what (str): the operation, named in the message (e.g. ``--is_slide``).
    """
    if deploy_cfg.output_op not in FLOAT_OUTPUT_OPS:
        raise ArgmaxExportError(
            '{} needs per-class scores, but {} is an `output_op: {}` export (labels cannot be '
            'averaged or saved as scores); re-export with `export.py --output_op none` (logits) '
            'or `--output_op softmax`'.format(what, deploy_cfg.path, deploy_cfg.output_op))


class InputShapeError(ValueError):
    """An input a fixed-shape export (``export.py --input_shape``) cannot take."""


def check_input_shape(input_shape, shape, what='this image gives'):
    """Raise ``InputShapeError`` when ``shape`` ``[N, C, H, W]`` is not what the export takes.

    The batch size is not compared: a smaller batch is padded (``pad_batch``).

    Args:
        input_shape (list[int]): deploy.yaml's ``input_shape`` (-1: any size).
        shape (tuple[int]): what would be fed to the model.
        what (str): names ``shape`` in the message.
    """
    if any(e > 0 and e != s for e, s in zip(input_shape[1:], shape[1:])):
        takes = 'x'.join(str(e) if e > 0 else n for e, n in zip(input_shape, 'NCHW'))
        raise InputShapeError('the export takes {}, {} {} after the deploy transforms'.format(
            takes, what, 'x'.join(str(int(s)) for s in shape)))


def pad_batch(batch, size):
    """``batch`` ``[n, ...]`` with its last item repeated up to ``size`` (a fixed-batch export)."""
    if size <= len(batch):
        return batch
    return np.concatenate([batch, np.repeat(batch[-1:], size - len(batch), axis=0)])


class ExportedLogits:
    """Call a predictor like a model: ``Tensor [1, C_in, h, w] -> Tensor [1, C, h, w]``.

    Args:
        predictor: ``PaddlePredictor`` or ``OnnxPredictor`` (``run(numpy batch)``).
        output_op (str): the export's ``output_op``. ``none`` gives logits and
            ``softmax`` probabilities (their argmax is the same); ``argmax`` labels
            are returned one-hot over ``num_classes`` (whole-image evaluation only:
            see ``require_scores``).
        num_classes (int | None): C, needed for an ``argmax`` export.
        input_shape (list[int] | None): deploy.yaml's ``input_shape``: an input of
            another size raises ``InputShapeError``; a smaller batch is padded.
    """

    def __init__(self, predictor, output_op, num_classes=None, input_shape=None):
        if output_op not in FLOAT_OUTPUT_OPS and not num_classes:
            raise ValueError('an argmax export needs num_classes to be turned into scores')
        self.predictor = predictor
        self.output_op = output_op
        self.num_classes = num_classes
        self.input_shape = list(input_shape) if input_shape is not None else [-1] * 4

    def __call__(self, im):
        x = im.numpy()
        check_input_shape(self.input_shape, x.shape, 'the model would be given')
        out = self.predictor.run(pad_batch(x, self.input_shape[0]))[:len(x)]
        if self.output_op in FLOAT_OUTPUT_OPS:
            return paddle.to_tensor(out.astype('float32', copy=False))
        labels = out.astype('int64').reshape([out.shape[0]] + list(out.shape[-2:]))
        bad = (labels < 0) | (labels >= self.num_classes)
        if bad.any():
            raise ValueError('the exported model predicted label(s) {} outside [0, {})'.format(
                np.unique(labels[bad])[:10].tolist(), self.num_classes))
        one_hot = np.eye(self.num_classes, dtype='float32')[labels]  # [N, h, w, C]
        return paddle.to_tensor(np.ascontiguousarray(one_hot.transpose(0, 3, 1, 2)))
