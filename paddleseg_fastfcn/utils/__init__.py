from .download import DownloadError
from .safe_pickle import UnsafePickleError
from .weight_files import WeightsError, read_paddle_file
from .weights import LoadReport, load_backbone_weights, load_weights
