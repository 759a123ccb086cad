#!/bin/bash
# Prepares what a TIPC mode needs, as PaddleSeg's test_tipc/prepare.sh, but with no download host:
# the data is written by the project's own generator (tools/make_mini_dataset.py) and weights come from a path.
#
# Usage: bash test_tipc/prepare.sh <config txt> <MODE> [weights.pdparams]
#   lite_train_lite_infer    16 train / 8 val images (64x64); inference on the 4 images of test_tipc/docs/mini_ade20k_val_4.txt
#   lite_train_whole_infer   16 train / 40 val images; inference on every val image
#   whole_train_whole_infer  160 train / 40 val images (the generator's defaults); inference on every val image
#   whole_infer              as lite_train_whole_infer, plus the weights to export (see below)
#   paddle2onnx_infer        lite data plus the exported Paddle inference model that test_paddle2onnx.sh converts
# Weights for whole_infer / paddle2onnx_infer, first found wins: the 3rd argument, $TIPC_WEIGHTS, or the checkpoint
# a lite training of the same model left in test_tipc/output/<model_name>/ (best_model, else the newest iter_N),
# or test_tipc/output/<model_name>/model.pdparams (the txt's infer_model, where PaddleSeg downloads weights).
# cpp_infer, serving_infer, klquant_whole_infer and benchmark_train are not supported here (exit 1).
# TIPC_INSTALL=1 also installs requirements.txt and this package (PaddleSeg's prepare.sh always does).
set -o errexit
set -o nounset
set -o pipefail

if [ $# -lt 2 ]; then
    echo "usage: bash test_tipc/prepare.sh <config txt> <MODE> [weights.pdparams]" >&2
    exit 2
fi
FILENAME=$(realpath "$1")
MODE=$2
WEIGHTS=${3:-${TIPC_WEIGHTS:-}}
cd "$(dirname "$0")/.."
source test_tipc/common_func.sh
read_config_lines "${FILENAME}"
model_name=$(func_parser_value "${lines[1]}")
python=$(func_parser_value "${lines[2]}")
DATA_DIR=test_tipc/data/mini_ade20k
OUTPUT_DIR=test_tipc/output/${model_name}

case ${MODE} in
    lite_train_lite_infer|lite_train_whole_infer|whole_train_whole_infer|whole_infer|paddle2onnx_infer) ;;
    cpp_infer|serving_infer|klquant_whole_infer|benchmark_train)
        echo "TIPC prepare: mode ${MODE} is not supported by this project (no C++ demo, serving, KL quantisation" \
             "or benchmark scripts; see test_tipc/README.md)" >&2
        exit 1;;
    *)
        echo "TIPC prepare: unknown mode ${MODE}" >&2
        exit 2;;
esac

if [ "${TIPC_INSTALL:-0}" = "1" ]; then
    ${python} -m pip install -r requirements.txt
    ${python} -m pip install --no-deps -e .
fi
${python} -c "import paddle, paddleseg, paddleseg_fastfcn" || {
    echo "TIPC prepare: '${python}' cannot import paddle, paddleseg and paddleseg_fastfcn;" \
         "install them (pip install -r requirements.txt && pip install -e .) or set TIPC_INSTALL=1" >&2
    exit 1
}

# find_weights: prints the weights to use for whole_infer / paddle2onnx_infer, or fails with what to do.
function find_weights(){
    if [ -n "${WEIGHTS}" ]; then
        if [ ! -f "${WEIGHTS}" ]; then
            echo "TIPC prepare: weights not found: ${WEIGHTS}" >&2
            return 1
        fi
        echo "${WEIGHTS}"
        return 0
    fi
    local mode_dir candidate
    for mode_dir in lite_train_lite_infer lite_train_whole_infer whole_train_whole_infer; do
        for candidate in ${OUTPUT_DIR}/${mode_dir}/norm_train_gpus_*_autocast_*/best_model/model.pdparams \
                $(ls -d ${OUTPUT_DIR}/${mode_dir}/norm_train_gpus_*_autocast_*/iter_* 2>/dev/null | sort -V -r); do
            candidate=${candidate%/model.pdparams}/model.pdparams
            if [ -f "${candidate}" ]; then
                echo "${candidate}"
                return 0
            fi
        done
    done
    # Last: the txt's infer_model path itself, where PaddleSeg's prepare.sh would have downloaded weights.
    if [ -f "${OUTPUT_DIR}/model.pdparams" ]; then
        echo "${OUTPUT_DIR}/model.pdparams"
        return 0
    fi
    echo "TIPC prepare: no weights for ${MODE}: pass a .pdparams as the 3rd argument or in TIPC_WEIGHTS," \
         "or run lite_train_lite_infer for ${model_name} first" >&2
    return 1
}

# Weights first: a missing checkpoint should fail before any work is done.
weights=""
if [ ${MODE} = "whole_infer" ] || [ ${MODE} = "paddle2onnx_infer" ]; then
    weights=$(find_weights)
fi

# Data: regenerated every time (deterministic by seed) in the ADE20K layout the TIPC YAMLs read.
case ${MODE} in
    lite_train_lite_infer|paddle2onnx_infer) data_args="--num_train 16 --num_val 8";;
    lite_train_whole_infer|whole_infer) data_args="--num_train 16 --num_val 40";;
    whole_train_whole_infer) data_args="--num_train 160 --num_val 40";;
esac
rm -rf ${DATA_DIR}
${python} tools/make_mini_dataset.py --out ${DATA_DIR} ${data_args} --size 64 --seed 0
# The inference list sits in the data root: infer.py resolves list entries against the list's directory.
if [ ${MODE} = "lite_train_lite_infer" ] || [ ${MODE} = "paddle2onnx_infer" ]; then
    cp test_tipc/docs/mini_ade20k_val_4.txt ${DATA_DIR}/tipc_infer.txt
else
    cp ${DATA_DIR}/val.txt ${DATA_DIR}/tipc_infer.txt
fi
while read -r image label; do
    if [ ! -f "${DATA_DIR}/${image}" ]; then
        echo "TIPC prepare: ${DATA_DIR}/tipc_infer.txt names ${image}, which the generator did not write" >&2
        exit 1
    fi
done < ${DATA_DIR}/tipc_infer.txt

if [ ${MODE} = "whole_infer" ]; then
    # The driver exports infer_model (./test_tipc/output/<model_name>/model.pdparams) next to itself.
    mkdir -p ${OUTPUT_DIR}
    if [ "$(realpath "${weights}")" != "$(realpath -m ${OUTPUT_DIR}/model.pdparams)" ]; then
        cp "${weights}" ${OUTPUT_DIR}/model.pdparams
    fi
    echo "TIPC prepare: whole_infer will export ${weights} (copied to ${OUTPUT_DIR}/model.pdparams)"
elif [ ${MODE} = "paddle2onnx_infer" ]; then
    # The Paddle inference model that test_paddle2onnx.sh converts (PaddleSeg's prepare.sh downloads one).
    model_dir=$(func_parser_value "${lines[4]}")
    train_txt=$(dirname "${FILENAME}")/train_infer_python.txt
    read_config_lines "${train_txt}"
    export_cmd=$(func_parser_value "${lines[29]}")
    rm -rf "${model_dir}"
    mkdir -p "${model_dir}"
    # --onnx True records `onnx_model: model.onnx` in deploy.yaml for infer.py --backend onnxruntime; the ONNX
    # file itself is removed so that the one inference reads is the one the paddle2onnx step under test writes.
    ${python} ${export_cmd} --model_path=${weights} --save_dir=${model_dir} --onnx True \
        2>&1 | tee "${model_dir}/../prepare_export.log"
    rm -f "${model_dir}/model.onnx"
    echo "TIPC prepare: exported ${weights} to ${model_dir}"
fi
echo "TIPC prepare: ${MODE} ready for ${model_name}"
