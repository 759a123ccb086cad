"""Run under paddle.distributed.launch: each rank reports what the trainer's stop check sees.

Rank 1 has a NaN loss term, rank 0 a finite one; both write
``<out_dir>/rank<r>.json`` with the rank-averaged terms and whether training
may continue (``core.distributed.all_finite`` of them, as ``core.train._step``).
"""
import json
import os
import sys

import paddle

from paddleseg_fastfcn.core.distributed import all_finite, init_distributed, mean_over_ranks


def main(out_dir):
    paddle.set_device('cpu')
    world_size, rank = init_distributed()
    local = [0.5, float('nan')] if rank == 1 else [0.5, 0.25]
    means = mean_over_ranks(local)
    with open(os.path.join(out_dir, 'rank{}.json'.format(rank)), 'w') as f:
        json.dump({'world_size': world_size, 'means': [repr(v) for v in means],
                   'continue': all_finite(means)}, f)


if __name__ == '__main__':
    main(sys.argv[1])
