"""Dataset preparation: raw downloads -> label PNGs and PaddleSeg file lists.

One module per dataset (``ade20k``, ``pascal_context``, ``cityscapes``, ``custom``)
on shared pieces: ``labels`` (reading and converting label images), ``writing``
(atomic outputs, list files) and ``report`` (the summary every tool prints). The
command-line tools are ``tools/data/prepare_*.py``.

Every tool follows the same rule for batch work: process every input that can be
processed, then fail (exit code 1) listing each input that could not be and why.
Outputs are written atomically, so an interrupted run never leaves a half-written
file.
"""
