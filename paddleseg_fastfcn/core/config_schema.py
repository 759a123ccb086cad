"""The types and ranges of config values, as a JSON Schema checked before anything is built.

Why JSON Schema (the ``jsonschema`` package) and not pydantic or hand-written checks:
a PaddleSeg config is a tree of open component dicts (``type`` plus whatever keyword
arguments the registered class takes), which JSON Schema describes as data, key by
key, with no model class per component; each violation comes with its exact path
(``train_dataset.transforms[2].crop_size``), which ``core.builder`` turns into the
file and line the value was written on. Rules are by key name: ``crop_size`` is a
``(w, h)`` pair in any transform, ``learning_rate`` is > 0 in any scheduler, so a
new component is covered without a new schema. Keys the schema does not name pass
through to PaddleSeg unchanged.

Each leaf schema carries a ``description`` saying what is expected in words
("an integer >= 1"); the error message quotes it.
"""
import dataclasses
import math

import jsonschema

from .inference_options import CONFIG_KEYS

# Backbone output strides the project's models support (FastFCN's JPU needs 32; the
# dilated baselines use 8 or 16).
OUTPUT_STRIDES = (8, 16, 32)


def _int(minimum=None, maximum=None):
    schema = {'type': 'integer'}
    if minimum is not None:
        schema['minimum'] = minimum
    if maximum is not None:
        schema['maximum'] = maximum
    if minimum is not None and maximum is not None:
        schema['description'] = 'an integer in [{}, {}]'.format(minimum, maximum)
    elif minimum is not None:
        schema['description'] = 'an integer >= {}'.format(minimum)
    else:
        schema['description'] = 'an integer'
    return schema


def _number(above=None, minimum=None, maximum=None, below=None):
    schema, words = {'type': 'number'}, []
    for key, bound, word in (('exclusiveMinimum', above, '> {}'), ('minimum', minimum, '>= {}'),
                             ('maximum', maximum, '<= {}'), ('exclusiveMaximum', below, '< {}')):
        if bound is not None:
            schema[key] = bound
            words.append(word.format(bound))
    schema['description'] = 'a number' + (' ' + ' and '.join(words) if words else '')
    return schema


def _list_of(item, min_items=1, words=None):
    return {'type': 'array', 'items': item, 'minItems': min_items,
            'description': words or 'a list, each item {}'.format(item['description'])}


def _one_or_list(item):
    return {'anyOf': [item, _list_of(item)],
            'description': '{} or a list of them'.format(item['description'])}


BOOL = {'type': 'boolean', 'description': 'true or false'}
STRING = {'type': 'string', 'minLength': 1, 'description': 'a non-empty string'}
PATH_OR_NULL = {'type': ['string', 'null'], 'description': 'a path, a URL or null'}
POSITIVE_INT = _int(1)
NON_NEGATIVE_INT = _int(0)
POSITIVE_NUMBER = _number(above=0)
NON_NEGATIVE_NUMBER = _number(minimum=0)
PROBABILITY = _number(minimum=0, maximum=1)
# 8-bit label PNGs: an ignored class is one of 0..255 (PaddleSeg's default is 255).
IGNORE_INDEX = _int(0, 255)
SIZE_PAIR = {'anyOf': [POSITIVE_INT, {'type': 'array', 'items': POSITIVE_INT,
                                      'minItems': 2, 'maxItems': 2}],
             'description': 'an integer >= 1 or two of them [w, h]'}


def component(properties=None, **extra):
    """A PaddleSeg component dict: ``type`` plus keyword arguments (open: others pass)."""
    return dict({'type': 'object', 'required': ['type'],
                 'properties': dict({'type': STRING}, **(properties or {})),
                 'description': 'a mapping with a `type` key'}, **extra)


# Keyword arguments of transforms, by name (PaddleSeg's transforms and this project's).
TRANSFORM = component({
    'crop_size': SIZE_PAIR, 'target_size': SIZE_PAIR,
    'short_size': _one_or_list(POSITIVE_INT), 'long_size': POSITIVE_INT,
    'max_size': POSITIVE_INT, 'prob': PROBABILITY,
    'min_scale_factor': POSITIVE_NUMBER, 'max_scale_factor': POSITIVE_NUMBER,
    'scale_step_size': NON_NEGATIVE_NUMBER,
    'mean': _list_of(_number(), words='a list of numbers'),
    'std': _list_of(POSITIVE_NUMBER, words='a list of numbers > 0'),
    'label_padding_value': IGNORE_INDEX,
    'keep_ratio': BOOL,
})

DATASET = component({
    'dataset_root': STRING, 'train_path': STRING, 'val_path': STRING, 'test_path': STRING,
    'num_classes': POSITIVE_INT, 'ignore_index': IGNORE_INDEX, 'mode': STRING,
    'transforms': {'type': 'array', 'items': TRANSFORM, 'description': 'a list of transforms'},
})

_PART = {'num_classes': POSITIVE_INT, 'in_channels': _one_or_list(POSITIVE_INT),
         'channels': POSITIVE_INT, 'in_index': NON_NEGATIVE_INT, 'width': POSITIVE_INT,
         'num_codes': POSITIVE_INT,
         'pretrained': PATH_OR_NULL}

MODEL = component(dict(_PART, **{
    'backbone': component({'output_stride': {'enum': list(OUTPUT_STRIDES), 'description':
                                             'one of {}'.format(', '.join(map(str, OUTPUT_STRIDES)))},
                           'pretrained': PATH_OR_NULL, 'in_channels': POSITIVE_INT}),
    'neck': component(_PART), 'head': component(_PART), 'aux_head': component(_PART),
}))

LOSS = {'type': 'object', 'required': ['types', 'coef'], 'additionalProperties': False,
        'description': 'a mapping with keys `types` and `coef`',
        'properties': {
            'types': _list_of(component({'ignore_index': IGNORE_INDEX}),
                              words='a list of loss mappings (each with a `type`)'),
            'coef': _list_of(NON_NEGATIVE_NUMBER, words='a list of numbers >= 0')}}

SCHEMA = {
    'type': 'object',
    'properties': {
        'batch_size': POSITIVE_INT,
        'iters': POSITIVE_INT,
        'sync_bn': BOOL,
        'model': MODEL,
        'train_dataset': DATASET,
        'val_dataset': DATASET,
        'optimizer': component({
            'momentum': _number(minimum=0, below=1), 'weight_decay': NON_NEGATIVE_NUMBER,
            'use_nesterov': BOOL,
            'custom_cfg': _list_of({
                'type': 'object', 'required': ['name'], 'description': 'a mapping with a `name`',
                'properties': {'name': STRING, 'lr_mult': NON_NEGATIVE_NUMBER,
                               'weight_decay_mult': NON_NEGATIVE_NUMBER}},
                words='a list of {name, lr_mult} mappings')}),
        'lr_scheduler': component({
            'learning_rate': POSITIVE_NUMBER, 'end_lr': NON_NEGATIVE_NUMBER,
            'power': POSITIVE_NUMBER, 'warmup_iters': NON_NEGATIVE_INT,
            'warmup_start_lr': NON_NEGATIVE_NUMBER, 'decay_steps': POSITIVE_INT}),
        'loss': LOSS,
        'test_config': {
            'type': 'object', 'additionalProperties': False,
            'description': 'a mapping of the keys {}'.format(', '.join(sorted(CONFIG_KEYS.values()))),
            'properties': {
                'aug_eval': BOOL, 'flip_horizontal': BOOL, 'is_slide': BOOL,
                'scales': _one_or_list(POSITIVE_NUMBER),
                'crop_size': SIZE_PAIR, 'stride': SIZE_PAIR}},
        'export': {'type': 'object', 'additionalProperties': False,
                   'description': 'a mapping with a `transforms` list',
                   'properties': {'transforms': {'type': 'array', 'items': TRANSFORM,
                                                 'description': 'a list of transforms'}}},
    },
}
assert set(SCHEMA['properties']['test_config']['properties']) == set(CONFIG_KEYS.values())

# JSON Schema's "integer" accepts 4.0 and its numbers exclude booleans only by type; a
# batch size of 4.0 would reach the data loader, so integers here are Python ints.
# YAML's .nan / .inf are floats that pass every bound check (nan < 0 is False), so a
# "number" here is finite.
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many({
    'integer': lambda checker, value: isinstance(value, int) and not isinstance(value, bool),
    'number': lambda checker, value: (isinstance(value, (int, float)) and not isinstance(value, bool)
                                      and math.isfinite(value))})
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_TYPES)
jsonschema.Draft202012Validator.check_schema(SCHEMA)
_VALIDATOR = Validator(SCHEMA)


@dataclasses.dataclass(frozen=True)
class Violation:
    """One bad value.

    Attributes:
        path (tuple): keys and list indices from the top, e.g. ``('loss', 'coef', 1)``.
        value: the value found (the containing mapping for a missing key).
        expected (str): what was expected, in words.
    """
    path: tuple
    value: object
    expected: str

    @property
    def key(self):
        """The dotted key, e.g. ``train_dataset.transforms[2].crop_size``."""
        return dotted(self.path)


def dotted(path):
    """``('a', 'b', 2, 'c')`` -> ``'a.b[2].c'``."""
    text = ''
    for part in path:
        text += '[{}]'.format(part) if isinstance(part, int) else ('.' if text else '') + str(part)
    return text


def _expected(error):
    if error.validator == 'required':
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return 'a key `{}`'.format(missing)
    return error.schema.get('description') or error.message


# How a non-finite number reads after PaddleSeg's `--opts` parsing (ast.literal_eval
# leaves `nan` / `inf` as strings; `1e999` becomes a float inf).
_NON_FINITE_WORDS = frozenset({'nan', 'inf', '-inf', '+inf', 'infinity', '-infinity',
                               '.nan', '.inf', '-.inf', '+.inf'})


def _non_finite(value):
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and value.strip().lower() in _NON_FINITE_WORDS


def non_finite_paths(value, path=()):
    """Paths of every NaN / infinity under ``value`` (floats, and the words ``--opts`` leaves)."""
    if _non_finite(value):
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in non_finite_paths(item, path + (key,))]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in non_finite_paths(item, path + (i,))]
    return []


def _finite_violations(dic, found):
    """``found`` with every violation holding a NaN / infinity said as such, plus one per
    NaN / infinity under a key the schema does not name (no config value can use one)."""
    bad = non_finite_paths(dic)
    result = []
    for v in found:
        if any(p[:len(v.path)] == v.path for p in bad):
            v = dataclasses.replace(v, expected=v.expected.replace('a number', 'a finite number', 1))
        result.append(v)
    # A violation about a mapping (a missing key) does not show its values.
    covered = [v.path for v in found if not isinstance(v.value, dict)]
    result += [Violation(p, _value(dic, p), 'a finite number') for p in bad
               if not any(p[:len(c)] == c for c in covered)]
    return result


def _value(dic, path):
    for part in path:
        dic = dic[part]
    return dic


def violations(dic):
    """Every value of the config dict ``dic`` outside the schema, in path order.

    Any NaN or infinity is one, under whatever key (``found nan, expected a finite number``).

    Args:
        dic (dict): the merged config (``_base_`` files applied).

    Returns:
        list[Violation]
    """
    found = []
    for error in _VALIDATOR.iter_errors(dic):
        path = tuple(error.absolute_path)
        if error.validator == 'additionalProperties':
            # One violation per unknown key, at the key itself.
            known = sorted(error.schema.get('properties', {}))
            found.extend(Violation(path + (key,), value, 'one of the keys {}'.format(', '.join(known)))
                         for key, value in error.instance.items() if key not in known)
        else:
            found.append(Violation(path, error.instance, _expected(error)))
    loss = dic.get('loss') if isinstance(dic, dict) else None
    if isinstance(loss, dict) and isinstance(loss.get('types'), list) \
            and isinstance(loss.get('coef'), list) and len(loss['types']) not in (1, len(loss['coef'])):
        # PaddleSeg repeats a single loss type for every coefficient.
        found.append(Violation(('loss', 'types'), loss['types'], '1 or {} loss types (one per '
                               '`coef` entry)'.format(len(loss['coef']))))
    found = _finite_violations(dic, found) if isinstance(dic, dict) else found
    return sorted(found, key=lambda v: [str(p) for p in v.path])


def loss_count_violation(dic, outputs):
    """A Violation if ``loss`` does not give one coefficient per training output.

    Args:
        dic (dict): the merged config.
        outputs (Sequence[str]): the names of the model's training outputs.

    Returns:
        Violation | None
    """
    loss = dic.get('loss') or {}
    coef, types = loss.get('coef'), loss.get('types')
    if not isinstance(coef, list) or not isinstance(types, list):
        return None
    if len(coef) != len(outputs):
        return Violation(('loss', 'coef'), coef, '{} coefficients, one per training output of the '
                         'model ({})'.format(len(outputs), ', '.join(outputs)))
    if len(types) not in (1, len(outputs)):
        return Violation(('loss', 'types'), types, '1 or {} loss types, one per training output '
                         '({})'.format(len(outputs), ', '.join(outputs)))
    return None
