"""docs/custom_dataset.md: its config builds the model and reads the lists prepare_custom.py wrote."""
import os
import re

import numpy as np
import paddle
from paddleseg.cvlibs import Config, SegBuilder

import paddleseg_fastfcn  # noqa: F401  (registers components)
from tests.tools.data.replicas import REPO, run_tool, write_image, write_mask

DOC = os.path.join(REPO, 'docs', 'custom_dataset.md')


def doc_config():
    text = open(DOC).read()
    return re.search(r'```yaml\n(.*?)```', text, re.S).group(1)


def test_doc_config_builds_on_prepared_lists(tmp_path, capsys):
    mine = tmp_path / 'mine'
    mask = np.array([[0, 1, 2, 255]] * 4)
    for i in range(3):
        write_image(mine / 'images' / '{:04d}.jpg'.format(i), 4, 4, seed=i)
        write_mask(mine / 'masks' / '{:04d}.png'.format(i), mask)
    (mine / 'classes.txt').write_text('background\nroad\ncar\n')
    code, _, err = run_tool('prepare_custom', ['--images', mine / 'images', '--masks', mine / 'masks',
                                               '--class_names', mine / 'classes.txt', '--out', mine], capsys)
    assert code == 0, err
    config = doc_config().replace('../encnet/', os.path.join(REPO, 'configs', 'encnet') + '/')
    config = config.replace('data/mine', str(mine))
    path = tmp_path / 'encnet_jpu_r50_mine.yml'
    path.write_text(config)
    # The base's ImageNet file is not in the test tree; random weights build the same model.
    builder = SegBuilder(Config(str(path), opts=['model.backbone.pretrained=scratch']))
    assert len(builder.train_dataset) == 2 and len(builder.val_dataset) == 1
    np.testing.assert_array_equal(builder.val_dataset[0]['label'][0], mask)
    model = builder.model
    model.eval()
    with paddle.no_grad():
        assert model(paddle.rand([1, 3, 64, 64]))[0].shape == [1, 3, 64, 64]
