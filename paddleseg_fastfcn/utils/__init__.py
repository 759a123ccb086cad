from .pretrained import LoadReport, PretrainedError, download, load_pretrained
