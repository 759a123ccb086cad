"""The one rule for batch work over many inputs, and its final error.

predict.py, deploy/python/infer.py and the dataset tools (tools/data/) all do this:
process every input that can be processed, writing each output atomically, then,
if any input failed, end with exit code 1 and a final list naming each failed input
and why. A bad image among good ones therefore costs only its own output.
Problems with the run itself (a missing --image_path, config or model) stop it
before anything is written.
"""


def format_failures(failures):
    """The final report: ``N input(s) failed ...`` and one ``  path: reason`` line each.

    Args:
        failures (list[tuple[str, str]]): ``(input, reason)`` pairs in input order.
    """
    lines = ['{} input(s) failed (everything else was processed):'.format(len(failures))]
    lines.extend('  {}: {}'.format(path, reason) for path, reason in failures)
    return '\n'.join(lines)


class BatchFailures(Exception):
    """Some inputs of a batch run failed; the others were processed and written.

    Args:
        failures (list[tuple[str, str]]): ``(input, reason)`` per failed input.
        written (list[str]): the outputs that were written.
    """

    def __init__(self, failures, written=()):
        self.failures = list(failures)
        self.written = list(written)
        super().__init__(format_failures(self.failures))
