"""One training step: forward, losses, backward and a momentum-SGD update.

Both models get the same losses, the loss section of the ``cases.TRAIN_LOSS_MODEL``
config (cross-entropy on the main logits, 0.2 x cross-entropy on the auxiliary
logits, 0.2 x semantic-encoding loss on the SE logits), weighted by the trainer's
own ``core.loss_terms``.
"""
import paddle

from paddleseg_fastfcn.core.loss_terms import weighted_loss_terms
from paddleseg_fastfcn.utils.model_cost import count_parameters

from .memory import PaddleHostPeak, PeakRSS
from .model_zoo import build_benchmark_model, training_losses
from .runtime import gpu_peak_memory_mb, image_batch, label_batch, synchronize
from .timing import time_repeats


def run_train(spec):
    """Time one optimizer step at ``train_size`` with ``train_batch`` images."""
    num_classes = spec['num_classes']
    config_dir = spec.get('config_dir') or None
    model, source = build_benchmark_model(spec['params']['model'], num_classes, config_dir)
    model.train()
    height, width = spec['train_size']
    batch = spec['train_batch']
    x = paddle.to_tensor(image_batch(batch, height, width))
    label = paddle.to_tensor(label_batch(batch, height, width, num_classes))
    losses = training_losses(config_dir)
    optimizer = paddle.optimizer.Momentum(learning_rate=0.01, momentum=0.9, weight_decay=1e-4,
                                          parameters=model.parameters())
    recorded = []

    def step():
        loss = paddle.add_n(weighted_loss_terms(model(x), label, losses))
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        recorded.append(float(loss))  # also waits for the step to finish

    with PeakRSS() as mem, PaddleHostPeak() as alloc:
        timing = time_repeats(step, spec['warmup'], spec['repeats'], synchronize(spec['device']))
    return dict(timing, source=source, params=count_parameters(model), first_loss=recorded[0],
                batch_size=batch, size=[height, width],
                gpu_peak_mb=gpu_peak_memory_mb(spec['device']), **mem.as_dict(), **alloc.as_dict())
