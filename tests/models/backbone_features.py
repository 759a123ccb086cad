"""Random stand-ins for the backbone features a neck reads."""
import paddle


def random_feats(seed, batch=1, size=64):
    """Backbone-shaped features [c1..c4] of a size x size image at output stride 32."""
    paddle.seed(seed)
    return [paddle.randn([batch, c, size // s, size // s])
            for c, s in zip((256, 512, 1024, 2048), (4, 8, 16, 32))]
