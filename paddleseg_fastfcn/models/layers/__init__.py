from .conv_bn import ConvBNReLU
from .resize import interpolation_matrix, resize_align_corners, resize_bilinear
from .encoding import EncodingLayer
from .adaptive_pool import adaptive_avg_pool, pooling_matrix
