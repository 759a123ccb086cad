"""One training step: forward, losses, backward and a momentum-SGD update.

Both models get the same losses (this project's, because PaddleSeg 2.8's
CrossEntropyLoss fails on Paddle 3): cross-entropy on the main logits, 0.2 x
cross-entropy on the auxiliary logits and 0.2 x semantic-encoding loss on the SE
logits, matched to the outputs by their rank.
"""
import paddle

from paddleseg_fastfcn.losses import SegCrossEntropyLoss, SemanticEncodingLoss

from ..utils.model_cost import count_parameters
from .memory import PaddleHostPeak, PeakRSS
from .model_zoo import build_benchmark_model
from .runtime import gpu_peak_memory_mb, image_batch, label_batch, synchronize
from .timing import time_repeats

AUX_WEIGHT = 0.2
SE_WEIGHT = 0.2


def total_loss(outputs, label, seg_loss, se_loss):
    """outputs: [main [N,C,H,W], aux [N,C,H,W]?, se [N,C]?] -> 0-D loss."""
    loss = seg_loss(outputs[0], label)
    for out in outputs[1:]:
        if out.ndim == 4:
            loss = loss + AUX_WEIGHT * seg_loss(out, label)
        elif out.ndim == 2:
            loss = loss + SE_WEIGHT * se_loss(out, label)
        else:
            raise ValueError('unexpected training output of shape {}'.format(list(out.shape)))
    return loss


def run_train(spec):
    """Time one optimizer step at ``train_size`` with ``train_batch`` images."""
    num_classes = spec['num_classes']
    model, source = build_benchmark_model(spec['params']['model'], num_classes,
                                          spec.get('config_dir') or None)
    model.train()
    height, width = spec['train_size']
    batch = spec['train_batch']
    x = paddle.to_tensor(image_batch(batch, height, width))
    label = paddle.to_tensor(label_batch(batch, height, width, num_classes))
    seg_loss, se_loss = SegCrossEntropyLoss(), SemanticEncodingLoss()
    optimizer = paddle.optimizer.Momentum(learning_rate=0.01, momentum=0.9, weight_decay=1e-4,
                                          parameters=model.parameters())
    losses = []

    def step():
        loss = total_loss(model(x), label, seg_loss, se_loss)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        losses.append(float(loss))  # also waits for the step to finish

    with PeakRSS() as mem, PaddleHostPeak() as alloc:
        timing = time_repeats(step, spec['warmup'], spec['repeats'], synchronize(spec['device']))
    return dict(timing, source=source, params=count_parameters(model), first_loss=losses[0],
                batch_size=batch, size=[height, width],
                gpu_peak_mb=gpu_peak_memory_mb(spec['device']), **mem.as_dict(), **alloc.as_dict())
