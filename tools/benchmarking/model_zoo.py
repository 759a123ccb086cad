"""Build the benchmarked models: this project's from its YAML configs, PaddleSeg's
from the model sections of its shipped configs (``cases.PADDLESEG_MODELS``)."""
import os

from paddleseg_fastfcn.core.builder import build_model, builder, load_config

from .cases import OWN_MODELS, PADDLESEG_MODELS, TRAIN_LOSS_MODEL

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CONFIG_DIR = os.path.join(REPO_ROOT, 'configs')


def find_config(key, config_dir=DEFAULT_CONFIG_DIR):
    """The config file of OWN_MODELS[key]: its file name under ``config_dir``.

    Raises:
        FileNotFoundError: the file is missing; the message names the model and the path.
    """
    path = os.path.join(config_dir, OWN_MODELS[key][1])
    if not os.path.isfile(path):
        raise FileNotFoundError('no config for benchmark model {}: {} does not exist'.format(key, path))
    return path


def load_own_config(key, config_dir=DEFAULT_CONFIG_DIR):
    """``load_config`` of OWN_MODELS[key]'s file without pretrained weights.

    Returns:
        (paddleseg.cvlibs.Config, str): the config and its file.
    """
    path = find_config(key, config_dir)
    # No downloads at run time; random weights run exactly as fast.
    return load_config(path, opts=['model.pretrained=None', 'model.backbone.pretrained=None']), path


def training_losses(config_dir=None):
    """The ``{'types': [...], 'coef': [...]}`` losses of the TRAIN_LOSS_MODEL config, for every
    training row: PaddleSeg 2.8's CrossEntropyLoss fails on Paddle 3, and its FastFCN returns
    the same training outputs [main, aux, se] as this project's EncNet."""
    cfg, _ = load_own_config(TRAIN_LOSS_MODEL, config_dir or DEFAULT_CONFIG_DIR)
    return builder(cfg).loss


def set_num_classes(model_cfg, num_classes):
    """Set ``num_classes`` on the model section (the segmentor passes it to its heads) and on
    every component in it that writes its own, so ``--num_classes`` reaches the classifiers."""
    model_cfg = dict(model_cfg, num_classes=num_classes)
    for key, value in model_cfg.items():
        if isinstance(value, dict) and 'num_classes' in value:
            model_cfg[key] = set_num_classes(value, num_classes)
    return model_cfg


def build_own_model(key, num_classes, config_dir=DEFAULT_CONFIG_DIR):
    """This project's model ``key`` through load_config + build_model, without pretrained weights.

    Returns:
        (nn.Layer, str): the model and the config file it came from.
    """
    cfg, path = load_own_config(key, config_dir)
    dataset_classes = getattr(builder(cfg).train_dataset_class, 'NUM_CLASSES', None) \
        if cfg.train_dataset_cfg else None
    model_cfg = set_num_classes(cfg.dic['model'], num_classes)
    if dataset_classes in (None, num_classes):
        cfg.dic['model'] = model_cfg
        return build_model(cfg), path
    # SegBuilder insists that num_classes equals the training set's; the benchmark
    # may ask for another count, so build the model section by itself.
    return builder(cfg).build_component(model_cfg), path


def build_paddleseg_model(key, num_classes):
    """PaddleSeg 2.8's model ``key`` built by its registered classes as its shipped config."""
    # SegBuilder's component building needs no Config (that only feeds its properties).
    return builder(None).build_component(dict(PADDLESEG_MODELS[key][1], num_classes=num_classes))


def build_benchmark_model(key, num_classes, config_dir=None):
    """Either kind of model by key. Returns ``(model, source)`` (config path or 'paddleseg')."""
    config_dir = config_dir or DEFAULT_CONFIG_DIR
    if key in OWN_MODELS:
        return build_own_model(key, num_classes, config_dir)
    if key in PADDLESEG_MODELS:
        return build_paddleseg_model(key, num_classes), 'paddleseg 2.8 shipped config'
    raise KeyError('unknown model {}'.format(key))
