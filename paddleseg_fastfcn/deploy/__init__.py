"""Deployment of exported models: preprocessing, Paddle Inference / ONNX Runtime
predictors, the ONNX conversion check, postprocessing and stage timing
(deploy/python/infer.py). deploy.yaml itself is ``utils.deploy_yaml``."""
