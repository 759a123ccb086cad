"""Deployment of exported models: deploy.yaml, preprocessing, Paddle Inference /
ONNX Runtime predictors, postprocessing and benchmark timing (deploy/python/infer.py)."""
