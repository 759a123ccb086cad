#!/usr/bin/env bash
# The whole job on the built-in mini dataset, from a fresh clone (Python 3 present):
#   bash tools/quickstart.sh
# creates / updates the virtualenv (tools/env.sh), makes the synthetic mini dataset, trains EncNet+JPU R50
# from scratch, evaluates, predicts, exports (Paddle + ONNX), serves the export with Paddle Inference (oneDNN)
# and ONNX Runtime, and prints a summary. A second run reuses the environment, the data and a finished
# training run.   OUT=output/quickstart  THREADS=2  (environment overrides)
set -euo pipefail
. "$(dirname "$0")/env.sh"
config=configs/mini/encnet_jpu_r50_mini_64x64_600.yml
data=data/mini_ade20k
out="${OUT:-output/quickstart}"
export OMP_NUM_THREADS="${THREADS:-2}"
iters=$(python -c "import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))['iters'])" "$config")
step() { echo; echo "== $*"; }

if [ -f "$data/val.txt" ] && [ -f "$data/train.txt" ]; then
    step "mini dataset: $data exists (reused)"
else
    step "making the mini dataset in $data"
    python tools/make_mini_dataset.py --out "$data"
fi
if [ -f "$out/iter_$iters/model.pdparams" ] && [ -f "$out/best_model/model.pdparams" ]; then
    step "training: $out holds the finished run (iter_$iters, best_model), reused"
else
    step "training $config into $out ($OMP_NUM_THREADS threads)"
    python train.py --config "$config" --save_dir "$out" --do_eval --save_interval 50 --seed 0
fi
model="$out/best_model/model.pdparams"
step "evaluating $model"
python val.py --config "$config" --model_path "$model" --save_dir "$out/val"
step "predicting the val images"
python predict.py --config "$config" --model_path "$model" --image_path "$data/images/validation" \
    --save_dir "$out/predict"
step "exporting (Paddle Inference + ONNX)"
python export.py --config "$config" --model_path "$model" --save_dir "$out/export" --onnx True
step "serving the export: Paddle Inference with oneDNN, then ONNX Runtime"
python deploy/python/infer.py --config "$out/export/deploy.yaml" --image_path "$data/images/validation" \
    --save_dir "$out/infer_paddle" --enable_mkldnn True
python deploy/python/infer.py --config "$out/export/deploy.yaml" --image_path "$data/images/validation" \
    --save_dir "$out/infer_onnxruntime" --backend onnxruntime

python - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
m = json.load(open(os.path.join(out, 'val', 'metrics.json')))
count = lambda d: sum(len(f) for _, _, f in os.walk(d))
print('\n== summary')
print('val mIoU {:.4f}, pixAcc {:.4f} on {} images ({})'.format(
    m['miou'], m['acc'], m['num_images'], os.path.join(out, 'val', 'metrics.json')))
print('best checkpoint:  {}'.format(os.path.join(out, 'best_model', 'model.pdparams')))
for name, sub in (('masks', 'predict/pseudo_color_prediction'), ('overlays', 'predict/added_prediction'),
                  ('exported model', 'export'), ('Paddle Inference masks', 'infer_paddle'),
                  ('ONNX Runtime masks', 'infer_onnxruntime')):
    path = os.path.join(out, sub)
    print('{:<17} {} ({} files)'.format(name + ':', path, count(path)))
PY
