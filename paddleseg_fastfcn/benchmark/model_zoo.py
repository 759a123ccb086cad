"""Build the benchmarked models: this project's from its YAML configs, PaddleSeg's
from the model sections of its shipped configs (``cases.PADDLESEG_MODELS``)."""
import copy
import glob
import os
import re

from paddleseg.cvlibs import manager

from paddleseg_fastfcn.core.builder import build_model, builder, load_config

from .cases import OWN_MODELS, PADDLESEG_MODELS

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CONFIG_DIR = os.path.join(REPO_ROOT, 'configs')


def find_config(key, config_dir=DEFAULT_CONFIG_DIR):
    """The config file of OWN_MODELS[key] under ``config_dir`` (ADE20K preferred).

    Raises:
        FileNotFoundError: no config file matches; the message names the pattern.
    """
    pattern = re.compile(OWN_MODELS[key][1])
    found = sorted(p for p in glob.glob(os.path.join(config_dir, '**', '*.yml'), recursive=True)
                   if pattern.match(os.path.basename(p)) and '_base_' not in p.split(os.sep))
    if not found:
        raise FileNotFoundError('no config for {} under {} (file name matching {})'.format(
            key, config_dir, pattern.pattern))
    ade = [p for p in found if 'ade20k' in os.path.basename(p)]
    return (ade or found)[0]


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
    path = find_config(key, config_dir)
    # No downloads at run time; random weights run exactly as fast.
    cfg = load_config(path, opts=['model.pretrained=None', 'model.backbone.pretrained=None'])
    dataset_classes = getattr(builder(cfg).train_dataset_class, 'NUM_CLASSES', None) \
        if cfg.train_dataset_cfg else None
    model_cfg = set_num_classes(cfg.dic['model'], num_classes)
    if dataset_classes in (None, num_classes):
        cfg.dic['model'] = model_cfg
        return build_model(cfg), path
    # SegBuilder insists that num_classes equals the training set's; the benchmark
    # may ask for another count, so build the model section by itself.
    return builder(cfg).build_component(model_cfg), path


def _build_paddleseg_component(cfg, registries):
    cfg = copy.deepcopy(cfg)
    kind = cfg.pop('type')
    for key, value in cfg.items():
        if isinstance(value, dict) and 'type' in value:
            cfg[key] = _build_paddleseg_component(value, registries)
    for registry in registries:
        if kind in registry.components_dict:
            return registry[kind](**cfg)
    raise KeyError('PaddleSeg component {} is not registered'.format(kind))


def build_paddleseg_model(key, num_classes):
    """PaddleSeg 2.8's model ``key`` built by its registered classes as its shipped config."""
    cfg = dict(PADDLESEG_MODELS[key][1], num_classes=num_classes)
    return _build_paddleseg_component(cfg, [manager.MODELS, manager.BACKBONES])


def build_benchmark_model(key, num_classes, config_dir=None):
    """Either kind of model by key. Returns ``(model, source)`` (config path or 'paddleseg')."""
    config_dir = config_dir or DEFAULT_CONFIG_DIR
    if key in OWN_MODELS:
        return build_own_model(key, num_classes, config_dir)
    if key in PADDLESEG_MODELS:
        return build_paddleseg_model(key, num_classes), 'paddleseg 2.8 shipped config'
    raise KeyError('unknown model {}'.format(key))
