"""PaddleSeg's ``SegBuilder`` with ``pretrained`` weights read by this project's safe loader,
and ``type: Dataset`` built as ``datasets.FileListDataset`` (this project's list reader).

PaddleSeg's backbones and models read ``pretrained`` with ``paddle.load``, which runs
code a file names; the keys are taken out of the config before PaddleSeg builds the
model and the weights are loaded afterwards through ``utils.weights`` (rules there).
"""
from paddleseg.cvlibs import SegBuilder
from paddleseg.datasets import Dataset
from paddleseg.utils import logger
from paddleseg.utils.utils import CachedProperty

from paddleseg_fastfcn.datasets import DatasetError, FileListDataset
from paddleseg_fastfcn.utils.download import DownloadError
from paddleseg_fastfcn.utils.load_guard import RefusedLoaderError
from paddleseg_fastfcn.utils.safe_pickle import UnsafePickleError
from paddleseg_fastfcn.utils.weight_files import WeightsError
from paddleseg_fastfcn.utils.weights import SCRATCH, is_scratch, load_backbone_weights, load_weights

# Config keys of weight files, taken out before PaddleSeg builds the components.
WEIGHT_KEYS = ('pretrained', 'pretrained_sha256')
# A weight file a component was given (at any depth) is bad input: its own error, which
# names the file, reaches the scripts, not PaddleSeg's multi-line "Tried to create" wrapper.
WEIGHT_FILE_ERRORS = (UnsafePickleError, WeightsError, DownloadError, RefusedLoaderError, FileNotFoundError)
# Errors a component raises that already name their file (and line): raised as themselves.
NAMED_INPUT_ERRORS = WEIGHT_FILE_ERRORS + (DatasetError,)


def _take(section, keys):
    """Remove ``keys`` from the dict ``section``; returns {key: value or None}."""
    if not isinstance(section, dict):
        return {k: None for k in keys}
    return {k: section.pop(k, None) for k in keys}


class WeightLoadingSegBuilder(SegBuilder):
    """PaddleSeg's SegBuilder, with ``pretrained`` weights read by the safe loader.

    Args:
        cfg (paddleseg.cvlibs.Config): the config.
        load_pretrained (bool): False builds without reading any ``pretrained``
            file (val / predict / export load a trained model over it anyway).

    Attributes:
        random_init_warning (str | None): after ``model``: the line saying that the
            model starts from random weights (a WARNING for a backbone), for the run's log.
    """

    def __init__(self, cfg, load_pretrained=True):
        super().__init__(cfg)
        self.load_pretrained = load_pretrained
        self.random_init_warning = None

    def load_component_class(self, class_type):
        com_class = super().load_component_class(class_type)
        # `type: Dataset` reads its list with this project's reader (datasets.file_list).
        return FileListDataset if com_class is Dataset else com_class

    def build_component(self, cfg):
        """PaddleSeg's, with :data:`NAMED_INPUT_ERRORS` raised as themselves (one line naming the file)."""
        try:
            return super().build_component(cfg)
        except RuntimeError as e:
            # PaddleSeg wraps what a component raises in "Tried to create a ... object".
            if isinstance(e.__context__, NAMED_INPUT_ERRORS):
                raise e.__context__ from None
            raise

    @CachedProperty
    def model(self):
        model_dic = self.config.dic.get('model') or {}
        as_written = dict(model_dic)
        has_backbone = isinstance(model_dic.get('backbone'), dict)
        if has_backbone:
            model_dic['backbone'] = dict(model_dic['backbone'])
        backbone_weights = _take(model_dic.get('backbone'), WEIGHT_KEYS)
        model_weights = _take(model_dic, WEIGHT_KEYS)
        try:
            model = SegBuilder.model.func(self)
        finally:  # the config stays as written (it may be built again)
            model_dic.clear()
            model_dic.update(as_written)
        if not self.load_pretrained:
            return model
        if has_backbone:
            self.random_init_warning = load_backbone_weights(
                model.backbone, backbone_weights['pretrained'], backbone_weights['pretrained_sha256'])
        if is_scratch(model_weights['pretrained']):
            # A model without a backbone (Fast-SCNN, which its authors train from random
            # weights too): say so, without the backbone warning's accuracy claim.
            if not has_backbone:
                self.random_init_warning = ('{} starts from random weights on purpose (model.pretrained is '
                                            '{})'.format(type(model).__name__, SCRATCH))
                logger.info(self.random_init_warning)
        elif model_weights['pretrained']:
            load_weights(model, model_weights['pretrained'], strict=False,
                         sha256=model_weights['pretrained_sha256'])
        return model
