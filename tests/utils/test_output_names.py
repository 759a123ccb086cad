"""utils.output_names: one naming rule; nothing outside the output folder, no input overwrites another."""
import os

import pytest

from paddleseg_fastfcn.utils.output_names import OutputNameError, output_file, plan_outputs


def test_names_mirror_folders_under_the_base(tmp_path):
    base = str(tmp_path / 'in')
    paths = [os.path.join(base, 'x', 'a.jpg'), os.path.join(base, 'y', 'a.jpg'), os.path.join(base, 'b.png')]
    plan = plan_outputs(paths, base)
    assert [name for _, _, name in plan.items] == [os.path.join('x', 'a'), os.path.join('y', 'a'), 'b']
    assert plan.failures == []


def test_inputs_outside_the_base_and_shared_names_are_refused_by_name(tmp_path):
    base = str(tmp_path / 'lists')
    climbing = os.path.join(base, '..', 'secret', 'a.png')
    absolute = str(tmp_path / 'elsewhere' / 'c.png')
    side_by_side = [os.path.join(base, 'd.jpg'), os.path.join(base, 'd.png')]
    good = os.path.join(base, 'e.png')
    plan = plan_outputs([climbing, absolute] + side_by_side + [good, good], base,
                        ['l.txt:1', 'l.txt:2', 'l.txt:3', 'l.txt:4', 'l.txt:5', 'l.txt:6'])
    assert plan.items == [(good, 'l.txt:5', 'e')]  # the same file listed twice: processed once
    reasons = dict(plan.failures)
    assert set(reasons) == {climbing, absolute} | set(side_by_side)
    assert reasons[climbing].startswith('{} (listed at l.txt:1) is outside {}, the folder output names are '
                                        'relative to; refused'.format(climbing, base))
    assert 'is outside' in reasons[absolute]
    assert reasons[side_by_side[0]] == ("{} (listed at l.txt:3) and {} map to one output name 'd'; both refused, "
                                        "so that neither overwrites the other (rename one)".format(*side_by_side))


def test_output_file_refuses_a_symlink_under_the_folder_that_points_out(tmp_path):
    save_dir, outside = tmp_path / 'out', tmp_path / 'outside'
    outside.mkdir()
    (save_dir / 'sub').mkdir(parents=True)
    assert output_file(str(save_dir), os.path.join('sub', 'a'), '.png') == str(save_dir / 'sub' / 'a.png')
    os.symlink(str(outside), str(save_dir / 'link'))
    with pytest.raises(OutputNameError, match=r'output .*link/a\.png resolves to .*outside/a\.png, outside '):
        output_file(str(save_dir), os.path.join('link', 'a'), '.png')
