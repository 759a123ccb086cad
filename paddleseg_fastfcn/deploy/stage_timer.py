"""Stage timers for ``infer.py --benchmark``.

PaddleSeg reports through the ``auto_log`` package, which is not on PyPI; this
timer needs nothing, and ``auto_log`` is also fed when it is importable.
"""
import time


class StageTimer:
    """Accumulates wall time of the preprocess / inference / postprocess stages.

    Use ``with timer.stage('inference'): ...``; ``images`` counts processed images.
    """

    STAGES = ('preprocess', 'inference', 'postprocess')

    def __init__(self):
        self.total = {s: 0.0 for s in self.STAGES}
        self.images = 0

    def stage(self, name):
        timer = self

        class _Stage:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timer.total[name] += time.perf_counter() - self.start

        return _Stage()

    def report(self):
        """``{stage}_ms`` per image, ``total_ms`` and ``images_per_s``."""
        n = max(self.images, 1)
        out = {'{}_ms'.format(s): 1000.0 * t / n for s, t in self.total.items()}
        total = sum(self.total.values())
        out['total_ms'] = 1000.0 * total / n
        out['images_per_s'] = self.images / total if total > 0 else 0.0
        out['images'] = self.images
        return out

    def format(self, model_name, settings):
        r = self.report()
        lines = ['----------------------- benchmark: {} -----------------------'.format(model_name)]
        lines += ['{}: {}'.format(k, v) for k, v in settings.items()]
        lines += ['images: {}'.format(r['images']),
                  'preprocess: {:.2f} ms/image'.format(r['preprocess_ms']),
                  'inference: {:.2f} ms/image'.format(r['inference_ms']),
                  'postprocess: {:.2f} ms/image'.format(r['postprocess_ms']),
                  'total: {:.2f} ms/image, {:.3f} images/s'.format(r['total_ms'], r['images_per_s'])]
        return '\n'.join(lines)


def auto_log_report(timer, model_name, settings):
    """Also report through ``auto_log`` (PaddleSeg's benchmark logger) when installed."""
    try:
        import auto_log
    except ImportError:
        return False
    r = timer.report()
    try:  # auto_log's API differs between its git versions; never fail the run for it
        logger = auto_log.AutoLogger(
            model_name=model_name, model_precision=settings.get('precision', 'fp32'),
            batch_size=settings.get('batch_size', 1), data_shape='dynamic', save_path=None,
            inference_config=None, pids=None, process_name=None, gpu_ids=None,
            time_keys=['preprocess_time', 'inference_time', 'postprocess_time'], warmup=0)
        logger.times.total_time = [r['preprocess_ms'] / 1000, r['inference_ms'] / 1000,
                                   r['postprocess_ms'] / 1000]
        logger.report()
    except Exception as e:
        print('auto_log report skipped: {}'.format(e))
        return False
    return True
