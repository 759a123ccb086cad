"""A user's own dataset: folders of images and masks (or a list) -> checked train / val lists.

Every pair is checked: both files readable, same size, a one-channel mask (or a
colour mask converted exactly with the given palette), every value a declared class
or the ignore value. The split is a seeded shuffle, so the same inputs and seed give
the same lists.
"""
import os

import numpy as np

from ...utils.image_io import IMAGE_EXTENSIONS
from ...utils.output_names import OutputNameError, common_folder, output_file, plan_outputs
from ..checks import DatasetError, check_label_values, check_pair, list_file_entries
from ..class_names import read_class_names
from .labels import check_image_decodes, colours_to_ids, read_label, read_palette, require_single_channel
from .report import PrepareReport
from .writing import list_entry, write_label_png, write_lines

# Where colour masks converted with a palette go, under the output folder (never the input's name).
CONVERTED_DIR = 'class_id_masks'


def _by_stem(folder, report, kind):
    found = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        stem, ext = os.path.splitext(name)
        if ext.lower() not in IMAGE_EXTENSIONS:
            report.skip(path, 'not an image file ({})'.format(', '.join(IMAGE_EXTENSIONS)))
        elif not os.path.isfile(path):  # a folder, FIFO, socket or device: never opened
            report.skip(path, 'not a regular file')
        elif stem in found:
            report.fail(path, 'two {} files named {}: {}'.format(kind, stem, found[stem]))
        else:
            found[stem] = path
    return found


def pairs_from_folders(images_dir, masks_dir, report):
    """Pair ``images_dir/<name>.<ext>`` with ``masks_dir/<name>.<ext>`` (any image extension)."""
    for folder in (images_dir, masks_dir):
        if not os.path.isdir(folder):
            raise DatasetError('folder not found: {}'.format(folder))
    images = _by_stem(images_dir, report, 'image')
    masks = _by_stem(masks_dir, report, 'mask')
    for stem in sorted(set(images) - set(masks)):
        report.fail(images[stem], 'no mask named {}.* in {}'.format(stem, masks_dir))
    for stem in sorted(set(masks) - set(images)):
        report.fail(masks[stem], 'no image named {}.* in {}'.format(stem, images_dir))
    return [(images[s], masks[s]) for s in sorted(set(images) & set(masks))]


def pairs_from_list(list_path, root, report):
    """Pairs from a list file (``image mask`` per line, relative to ``root``)."""
    if not os.path.isfile(list_path):
        raise DatasetError('list file not found: {}'.format(list_path))
    pairs = []
    for lineno, image, mask in list_file_entries(list_path, root):
        if mask is None:
            report.fail('{}:{}'.format(list_path, lineno), 'expected "image mask", found one path')
        else:
            pairs.append((image, mask))
    return pairs


def resolve_classes(num_classes=None, class_names=None, palette=None):
    """The class count and names from whichever of the three is given (they must agree)."""
    counts = {'--num_classes': num_classes,
              '--class_names': len(class_names) if class_names else None,
              '--palette': len(palette) if palette is not None else None}
    given = {k: v for k, v in counts.items() if v is not None}
    if not given:
        raise DatasetError('declare the classes: give --num_classes, --class_names or --palette')
    if len(set(given.values())) > 1:
        raise DatasetError('the class counts disagree: {}'.format(
            ', '.join('{} {}'.format(k, v) for k, v in given.items())))
    count = next(iter(given.values()))
    if not 1 <= count <= 255:
        raise DatasetError('the number of classes must be 1..255 (one byte per label pixel), got {}'.format(count))
    return count, class_names


def split_pairs(pairs, val_fraction, seed):
    """Seeded shuffle of ``pairs`` (sorted first) into (train, val)."""
    if not 0 <= val_fraction < 1:
        raise DatasetError('--val_fraction must be in [0, 1), got {}'.format(val_fraction))
    pairs = sorted(pairs)
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_val = int(round(len(pairs) * val_fraction))
    if val_fraction > 0 and len(pairs) >= 2:
        n_val = min(max(n_val, 1), len(pairs) - 1)
    val = sorted(pairs[i] for i in order[:n_val])
    train = sorted(pairs[i] for i in order[n_val:])
    return train, val


def _label_ids(image, mask_path, palette, ignore_colour, ignore_index):
    check_pair(image, mask_path)
    check_image_decodes(image)
    mask = read_label(mask_path)
    if mask.ndim == 3 and palette is not None:
        return colours_to_ids(mask, palette, mask_path, ignore_colour, ignore_index), True
    return require_single_channel(mask, mask_path), False


def _write_converted(out, mask_path, ids, plan):
    """Write the class ids of a colour mask to ``out/class_id_masks/<name>.png``; returns that path.

    ``<name>`` is the mask's path relative to the masks' folder (for a list, the deepest
    folder holding every mask; ``utils.output_names``):
    ``plan`` maps each mask to its name, or to why it has none (two masks with one name
    are refused, never overwritten).
    """
    names, refused = plan
    if mask_path in refused:
        raise DatasetError(refused[mask_path])
    try:
        target = output_file(os.path.join(out, CONVERTED_DIR), names[mask_path], '.png')
    except OutputNameError as e:
        raise DatasetError(str(e)) from e
    if os.path.abspath(target) == os.path.abspath(mask_path):
        raise DatasetError('the converted mask would overwrite its colour source {}'.format(mask_path))
    write_label_png(target, ids)
    return target


def prepare_custom(out, images=None, masks=None, list_path=None, list_root=None, num_classes=None,
                   class_names=None, palette=None, ignore_index=255, ignore_colour=None,
                   val_fraction=0.2, seed=0):
    """Check a user's dataset and write ``out/train.txt`` and ``out/val.txt``.

    Args:
        out (str): the output folder (the configs' dataset_root).
        images, masks (str | None): the folders to pair by file name.
        list_path (str | None): instead, a list of ``image mask`` lines.
        list_root (str | None): what the list's paths are relative to (default: its folder).
        num_classes (int | None), class_names (str | None), palette (str | None): the
            declared classes: a count, a names file (one per line), a palette file
            (``R G B`` per class); whichever are given must agree.
        ignore_index (int): the mask value that is not a class.
        ignore_colour (tuple | None): with a palette, the colour that means ignore.
        val_fraction (float): the share of pairs in val.
        seed (int): the split's seed.

    Returns:
        PrepareReport: counts, histogram of mask values, every failing file and why.
        Colour masks converted with the palette are written to ``out/class_id_masks/``.
    """
    if (list_path is None) == (images is None or masks is None):
        raise DatasetError('give either --images and --masks, or --list')
    names = read_class_names(class_names) if class_names else None
    colours = read_palette(palette) if palette else None
    count, names = resolve_classes(num_classes, names, colours)
    report = PrepareReport('custom dataset ({})'.format(list_path or '{} + {}'.format(images, masks)),
                           count, ignore_index, names)
    if list_path:
        pairs = pairs_from_list(list_path, list_root or os.path.dirname(os.path.abspath(list_path)), report)
    else:
        pairs = pairs_from_folders(images, masks, report)
    mask_paths = [mask for _, mask in pairs]
    plan = plan_outputs(mask_paths, masks or (common_folder(mask_paths) if pairs else ''))
    plan = ({mask: name for mask, _, name in plan.items}, dict(plan.failures))
    checked = []
    for image, mask_path in pairs:
        try:
            ids, is_converted = _label_ids(image, mask_path, colours, ignore_colour, ignore_index)
            check_label_values(ids, mask_path, count, ignore_index)
            if is_converted:
                mask_path = _write_converted(out, mask_path, ids, plan)
                report.labels_written += 1
            entry = list_entry(out, image, mask_path)
        except DatasetError as e:
            report.fail(image, str(e))
            continue
        report.add_label(ids)
        checked.append((image, entry))
    train, val = split_pairs(checked, val_fraction, seed)
    for split, entries in (('train', train), ('val', val)):
        path = os.path.join(out, split + '.txt')
        write_lines(path, [entry for _, entry in entries])
        report.lists.append((path, len(entries)))
        report.images[split] = len(entries)
    if report.failed:
        report.notes.append('the lists hold only the pairs that passed every check')
    return report
