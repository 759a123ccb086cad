#!/bin/bash
# TIPC driver: train -> eval -> export -> Paddle Inference, as PaddleSeg's test_tipc/test_train_inference_python.sh.
# Usage: bash test_tipc/test_train_inference_python.sh <train_infer_python.txt> <MODE> [gpu id for whole_infer]
# MODE: lite_train_lite_infer | lite_train_whole_infer | whole_train_whole_infer | whole_infer
#       (paddle2onnx_infer is handed to test_tipc/test_paddle2onnx.sh).
# Every command appends `Run successfully with command - ...` or `Run failed with command - ...` to
# test_tipc/output/<model_name>/<MODE>/results_python.log by its own exit code; the script exits 1 if any failed.
source test_tipc/common_func.sh

FILENAME=$1
MODE=$2
GPUID=$3

if [ $# -lt 2 ]; then
    echo "usage: bash test_tipc/test_train_inference_python.sh <train_infer_python.txt> <MODE> [gpu id]" >&2
    exit 2
fi

case ${MODE} in
    lite_train_lite_infer|lite_train_whole_infer|whole_train_whole_infer|whole_infer) ;;
    paddle2onnx_infer)
        # PaddleSeg keeps ONNX in its own script and config; accept the train config too and use its sibling.
        if ! grep -q "paddle2onnx_params" "${FILENAME}"; then
            FILENAME=$(ls "$(dirname "${FILENAME}")"/*paddle2onnx*.txt 2>/dev/null | head -n 1)
        fi
        exec bash test_tipc/test_paddle2onnx.sh "${FILENAME}" "${MODE}";;
    *)
        echo "TIPC: mode '${MODE}' is not supported by this driver (supported: lite_train_lite_infer," \
             "lite_train_whole_infer, whole_train_whole_infer, whole_infer, paddle2onnx_infer)" >&2
        exit 2;;
esac

read_config_lines "${FILENAME}" || exit 2
check_train_infer_layout "${FILENAME}" || exit 2

# train_params
model_name=$(func_parser_value "${lines[1]}")
python=$(func_parser_value "${lines[2]}")
gpu_list=$(func_parser_value "${lines[3]}")
train_use_gpu_key=$(func_parser_key "${lines[4]}")
train_use_gpu_value=$(func_parser_value "${lines[4]}")
autocast_list=$(func_parser_value "${lines[5]}")
autocast_key=$(func_parser_key "${lines[5]}")
epoch_key=$(func_parser_key "${lines[6]}")
epoch_num=$(func_parser_params "${lines[6]}")
save_model_key=$(func_parser_key "${lines[7]}")
train_batch_key=$(func_parser_key "${lines[8]}")
train_batch_value=$(func_parser_params "${lines[8]}")
pretrain_model_key=$(func_parser_key "${lines[9]}")
pretrain_model_value=$(func_parser_value "${lines[9]}")
train_model_name=$(func_parser_value "${lines[10]}")
train_infer_img_dir=$(func_parser_value "${lines[11]}")
train_param_key1=$(func_parser_key "${lines[12]}")
train_param_value1=$(func_parser_value "${lines[12]}")

trainer_list=$(func_parser_value "${lines[14]}")
trainer_norm=$(func_parser_key "${lines[15]}")
norm_trainer=$(func_parser_value "${lines[15]}")
pact_key=$(func_parser_key "${lines[16]}")
pact_trainer=$(func_parser_value "${lines[16]}")
fpgm_key=$(func_parser_key "${lines[17]}")
fpgm_trainer=$(func_parser_value "${lines[17]}")
distill_key=$(func_parser_key "${lines[18]}")
distill_trainer=$(func_parser_value "${lines[18]}")
trainer_key1=$(func_parser_key "${lines[19]}")
trainer_value1=$(func_parser_value "${lines[19]}")
trainer_key2=$(func_parser_key "${lines[20]}")
trainer_value2=$(func_parser_value "${lines[20]}")

# eval_params
eval_py=$(func_parser_value "${lines[23]}")
eval_key1=$(func_parser_key "${lines[24]}")
eval_value1=$(func_parser_value "${lines[24]}")

# export_params
save_infer_key=$(func_parser_key "${lines[27]}")
export_weight=$(func_parser_key "${lines[28]}")
norm_export=$(func_parser_value "${lines[29]}")
pact_export=$(func_parser_value "${lines[30]}")
fpgm_export=$(func_parser_value "${lines[31]}")
distill_export=$(func_parser_value "${lines[32]}")
export_key1=$(func_parser_key "${lines[33]}")
export_value1=$(func_parser_value "${lines[33]}")
export_key2=$(func_parser_key "${lines[34]}")
export_value2=$(func_parser_value "${lines[34]}")
inference_dir=$(func_parser_value "${lines[35]}")

# infer_params
infer_model_dir_list=$(func_parser_value "${lines[36]}")
infer_export_list=$(func_parser_value "${lines[37]}")
infer_is_quant=$(func_parser_value "${lines[38]}")
inference_py=$(func_parser_value "${lines[39]}")
use_gpu_key=$(func_parser_key "${lines[40]}")
use_gpu_list=$(func_parser_value "${lines[40]}")
use_mkldnn_key=$(func_parser_key "${lines[41]}")
use_mkldnn_list=$(func_parser_value "${lines[41]}")
cpu_threads_key=$(func_parser_key "${lines[42]}")
cpu_threads_list=$(func_parser_value "${lines[42]}")
batch_size_key=$(func_parser_key "${lines[43]}")
batch_size_list=$(func_parser_value "${lines[43]}")
use_trt_key=$(func_parser_key "${lines[44]}")
use_trt_list=$(func_parser_value "${lines[44]}")
precision_key=$(func_parser_key "${lines[45]}")
precision_list=$(func_parser_value "${lines[45]}")
infer_model_key=$(func_parser_key "${lines[46]}")
image_dir_key=$(func_parser_key "${lines[47]}")
infer_img_dir=$(func_parser_value "${lines[47]}")
save_log_key=$(func_parser_key "${lines[48]}")
benchmark_key=$(func_parser_key "${lines[49]}")
benchmark_value=$(func_parser_value "${lines[49]}")
infer_key1=$(func_parser_key "${lines[50]}")
infer_value1=$(func_parser_value "${lines[50]}")
infer_key2=$(func_parser_key "${lines[51]}")
infer_value2=$(func_parser_value "${lines[51]}")

LOG_PATH="./test_tipc/output/${model_name}/${MODE}"
mkdir -p ${LOG_PATH}
status_log="${LOG_PATH}/results_python.log"
echo "------------------------ ${MODE} ------------------------" >> ${status_log}

source test_tipc/inference_func.sh

if [ ${MODE} = "whole_infer" ]; then
    # No training: export each listed checkpoint next to itself, then run the inference settings on it.
    if [ ${#GPUID} -gt 0 ]; then
        export CUDA_VISIBLE_DEVICES=${GPUID}
    fi
    Count=0
    gpu=0
    IFS="|"
    infer_run_exports=(${infer_export_list})
    infer_quant_flag=(${infer_is_quant})
    for infer_model in ${infer_model_dir_list[*]}; do
        if [ "${infer_run_exports[Count]}" != "null" ]; then
            save_infer_dir=$(dirname ${infer_model})
            set_export_weight=$(func_set_params "${export_weight}" "${infer_model}")
            set_save_infer_key=$(func_set_params "${save_infer_key}" "${save_infer_dir}")
            export_log="${LOG_PATH}/whole_infer_export_${Count}.log"
            export_cmd="${python} ${infer_run_exports[Count]} ${set_export_weight} ${set_save_infer_key}"
            run_command "${export_cmd}" "${export_log}"
            status_check $? "${export_cmd}" "${status_log}" "${model_name}" "${export_log}"
        else
            save_infer_dir=${infer_model}
        fi
        func_inference "${python}" "${inference_py}" "${save_infer_dir}" "${LOG_PATH}" "${infer_img_dir}" \
            "${infer_quant_flag[Count]}" "${gpu}"
        Count=$((Count + 1))
    done
else
    IFS="|"
    Count=0
    USE_GPU_KEY=(${train_use_gpu_value})
    for gpu in ${gpu_list[*]}; do
        train_use_gpu=${USE_GPU_KEY[Count]}
        Count=$((Count + 1))
        env=""
        ips=""
        if [ "${gpu}" = "-1" ]; then
            env=""
        elif [ ${#gpu} -le 1 ]; then
            env="export CUDA_VISIBLE_DEVICES=${gpu}"
            eval ${env}
        elif [ ${#gpu} -le 15 ]; then
            IFS=","
            array=(${gpu})
            env="export CUDA_VISIBLE_DEVICES=${array[0]}"
            IFS="|"
        else
            # multi-machine entry, as PaddleSeg: `<ip1>,<ip2>;<gpu ids>`
            IFS=";"
            array=(${gpu})
            ips=${array[0]}
            gpu=${array[1]}
            IFS="|"
        fi
        for autocast in ${autocast_list[*]}; do
            for trainer in ${trainer_list[*]}; do
                flag_quant=False
                if [ "${trainer}" = "${pact_key}" ]; then
                    run_train=${pact_trainer}; run_export=${pact_export}; flag_quant=True
                elif [ "${trainer}" = "${fpgm_key}" ]; then
                    run_train=${fpgm_trainer}; run_export=${fpgm_export}
                elif [ "${trainer}" = "${distill_key}" ]; then
                    run_train=${distill_trainer}; run_export=${distill_export}
                elif [ "${trainer}" = "${trainer_key1}" ]; then
                    run_train=${trainer_value1}; run_export=${export_value1}
                elif [ "${trainer}" = "${trainer_key2}" ]; then
                    run_train=${trainer_value2}; run_export=${export_value2}
                else
                    run_train=${norm_trainer}; run_export=${norm_export}
                fi
                if [ "${run_train}" = "null" ]; then
                    continue
                fi

                set_autocast=$(func_set_params "${autocast_key}" "${autocast}")
                set_epoch=$(func_set_params "${epoch_key}" "${epoch_num}")
                set_pretrain=$(func_set_params "${pretrain_model_key}" "${pretrain_model_value}")
                set_batchsize=$(func_set_params "${train_batch_key}" "${train_batch_value}")
                set_train_params1=$(func_set_params "${train_param_key1}" "${train_param_value1}")
                set_use_gpu=$(func_set_params "${train_use_gpu_key}" "${train_use_gpu}")
                nodes=1
                save_log="${LOG_PATH}/${trainer}_gpus_${gpu}_autocast_${autocast}"
                if [ -n "${ips}" ]; then
                    IFS=","
                    ips_array=(${ips})
                    IFS="|"
                    nodes=${#ips_array[@]}
                    save_log="${save_log}_nodes_${nodes}"
                fi
                log_path="${LOG_PATH}/${trainer}_gpus_${gpu}_autocast_${autocast}_nodes_${nodes}.log"
                set_save_model=$(func_set_params "${save_model_key}" "${save_log}")
                train_args="${run_train} ${set_use_gpu} ${set_save_model} ${set_epoch} ${set_pretrain} ${set_autocast} ${set_batchsize} ${set_train_params1}"
                # The launcher's worker logs go next to this run's log, not to its default log/
                # (the repository's folder of recorded training logs).
                launch_log_dir="${LOG_PATH}/${trainer}_gpus_${gpu}_autocast_${autocast}_nodes_${nodes}_workerlogs"
                if [ ${#gpu} -le 2 ]; then
                    # CPU (-1) or one GPU
                    cmd="${python} ${train_args}"
                elif [ -z "${ips}" ]; then
                    cmd="${python} -m paddle.distributed.launch --log_dir=${launch_log_dir} --devices=${gpu} ${train_args}"
                else
                    cmd="${python} -m paddle.distributed.launch --log_dir=${launch_log_dir} --ips=${ips} --devices=${gpu} ${train_args}"
                fi
                echo "${cmd}"
                run_command "${cmd}" "${log_path}"
                status_check $? "${cmd}" "${status_log}" "${model_name}" "${log_path}"
                if [[ "${cmd}" = *'paddle.distributed.launch'* ]] && [ -f "${launch_log_dir}/workerlog.0" ]; then
                    cat "${launch_log_dir}/workerlog.0" >> ${log_path}
                fi

                # best_model/ exists only when training evaluated (--do_eval); otherwise use the last iteration.
                trained_weights="${save_log}/${train_model_name}"
                if [ ! -f "${trained_weights}" ]; then
                    trained_weights="${save_log}/iter_${epoch_num}/model.pdparams"
                fi
                set_eval_pretrain=$(func_set_params "${pretrain_model_key}" "${trained_weights}")

                if [ "${eval_py}" != "null" ]; then
                    log_path="${LOG_PATH}/${trainer}_gpus_${gpu}_autocast_${autocast}_nodes_${nodes}_eval.log"
                    set_eval_params1=$(func_set_params "${eval_key1}" "${eval_value1}")
                    eval_cmd="${python} ${eval_py} ${set_eval_pretrain} ${set_use_gpu} ${set_eval_params1}"
                    run_command "${eval_cmd}" "${log_path}"
                    status_check $? "${eval_cmd}" "${status_log}" "${model_name}" "${log_path}"
                fi

                if [ "${run_export}" != "null" ]; then
                    log_path="${LOG_PATH}/${trainer}_gpus_${gpu}_autocast_${autocast}_nodes_${nodes}_export.log"
                    set_export_weight=$(func_set_params "${export_weight}" "${trained_weights}")
                    set_save_infer_key=$(func_set_params "${save_infer_key}" "${save_log}")
                    export_cmd="${python} ${run_export} ${set_export_weight} ${set_save_infer_key}"
                    run_command "${export_cmd}" "${log_path}"
                    status_check $? "${export_cmd}" "${status_log}" "${model_name}" "${log_path}"

                    eval ${env}
                    if [[ "${inference_dir}" != "null" ]] && [[ "${inference_dir}" != '##' ]] && [ -n "${inference_dir}" ]; then
                        infer_model_dir="${save_log}/${inference_dir}"
                    else
                        infer_model_dir=${save_log}
                    fi
                    func_inference "${python}" "${inference_py}" "${infer_model_dir}" "${LOG_PATH}" \
                        "${train_infer_img_dir}" "${flag_quant}" "${gpu}"
                    unset CUDA_VISIBLE_DEVICES
                fi
            done
        done
    done
fi

if [ ${TIPC_FAILED_COUNT} -gt 0 ]; then
    echo "TIPC: ${TIPC_FAILED_COUNT} command(s) failed; see ${status_log}" >&2
    exit 1
fi
echo "TIPC: all commands succeeded; see ${status_log}"
exit 0
