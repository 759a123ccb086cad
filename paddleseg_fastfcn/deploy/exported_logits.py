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


class ExportedLogits:
    """Call a predictor like a model: ``Tensor [1, C_in, h, w] -> Tensor [1, C, h, w]``.

    Args:
        predictor: ``PaddlePredictor`` or ``OnnxPredictor`` (``run(numpy batch)``).
        output_op (str): the export's ``output_op``. ``none`` gives logits and
            ``softmax`` probabilities (their argmax is the same); ``argmax`` labels
            are returned one-hot over ``num_classes`` (whole-image evaluation only:
            see ``require_scores``).
        num_classes (int | None): C, needed for an ``argmax`` export.
    """

    def __init__(self, predictor, output_op, num_classes=None):
        if output_op not in FLOAT_OUTPUT_OPS and not num_classes:
            raise ValueError('an argmax export needs num_classes to be turned into scores')
        self.predictor = predictor
        self.output_op = output_op
        self.num_classes = num_classes

    def __call__(self, im):
        out = self.predictor.run(im.numpy())
        if self.output_op in FLOAT_OUTPUT_OPS:
            return paddle.to_tensor(out.astype('float32', copy=False))
        labels = out.astype('int64').reshape([out.shape[0]] + list(out.shape[-2:]))
        bad = (labels < 0) | (labels >= self.num_classes)
        if bad.any():
            raise ValueError('the exported model predicted label(s) {} outside [0, {})'.format(
                np.unique(labels[bad])[:10].tolist(), self.num_classes))
        one_hot = np.eye(self.num_classes, dtype='float32')[labels]  # [N, h, w, C]
        return paddle.to_tensor(np.ascontiguousarray(one_hot.transpose(0, 3, 1, 2)))
