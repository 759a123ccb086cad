"""type: Dataset (FileListDataset): the list reader's rules, and the pixel cap in training's data loader."""
import os
import re
import shutil

import pytest

from paddleseg_fastfcn.datasets import DatasetError, FileListDataset
from paddleseg_fastfcn.datasets.synthetic import write_dataset
from tests.datasets.test_checks import built_train_dataset, file_list_config

LINES = ['images/training/mini_training_{0:05d}.jpg annotations/training/mini_training_{0:05d}.png'.format(i)
         for i in range(3)]


@pytest.fixture()
def root(tmp_path):
    root = str(tmp_path / 'data')
    write_dataset(root, num_train=3, num_val=2, size=32, seed=2)
    return root


def test_bom_crlf_blank_lines_and_tabs_are_read(tmp_path, root):
    text = '\ufeff' + LINES[0].replace(' ', '\t') + '\r\n\r\n' + LINES[1].replace(' ', '   ') + ' \r\n' + LINES[2]
    with open(os.path.join(root, 'odd.txt'), 'w', encoding='utf-8', newline='') as f:
        f.write(text)
    ds = built_train_dataset(file_list_config(tmp_path, root, 'odd.txt'))
    assert isinstance(ds.dataset, FileListDataset) and len(ds) == 3
    assert [o.rsplit(':', 1)[1] for o in ds.origins] == ['1', '3', '4']
    assert ds[1]['img'].shape == (3, 32, 32)


def test_three_fields_are_refused_by_file_and_line_when_the_dataset_is_built(tmp_path, root):
    with open(os.path.join(root, 'bad.txt'), 'w') as f:
        f.write('\n'.join([LINES[0], LINES[1] + ' extra.png', LINES[2]]) + '\n')
    with pytest.raises(DatasetError, match=r'bad\.txt:2: expected "image label" \(2 field\(s\) separated by '
                                           r'spaces or tabs\), found 3 field\(s\)'):
        built_train_dataset(file_list_config(tmp_path, root, 'bad.txt'))


def test_a_bomb_in_a_data_loader_worker_is_refused_by_name(tmp_path, root, png_bomb, run_measured):
    shutil.copy(png_bomb, os.path.join(root, 'annotations', 'training', 'mini_training_00001.png'))
    config = file_list_config(tmp_path, root)
    # paddle's DataLoader iterates in the main thread only: a child process bounds the time.
    result = run_measured(
        'from paddleseg_fastfcn.core.data_loader import build_loader\n'
        'from tests.datasets.test_checks import built_train_dataset, load_config\n'
        'loader = build_loader(built_train_dataset(load_config({!r})), [[0], [1], [2]], num_workers=1)'.format(
            config.source_path), '[batch for batch in loader]', timeout=120)
    # paddle's DataLoader hands the main process only its own SystemError; the batches in
    # flight are read again there, which raises the dataset's error naming the file
    assert re.match(r'DatasetError: .*mini_training_00001\.png: refused: its header declares label 14000 x 14000 '
                    r'pixels \(196,000,000\) exceeds the cap', result['outcome']), result['outcome']
    # the worker (a fork of the child) never decoded the 196-Mpixel label (588 MB as uint8 RGB)
    assert result['children_rss_kb'] < result['rss_kb'] + 400 * 1024, result
    assert result['seconds'] < 60, result
