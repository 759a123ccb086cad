#!/bin/bash
# func_inference for test_train_inference_python.sh: runs deploy/python/infer.py once per inference setting
# (CPU: oneDNN x threads x batch size x precision; GPU: TensorRT x precision x batch size), as PaddleSeg's driver.
# Reads the infer_params globals parsed by the driver (use_gpu_list, use_mkldnn_list, ...).

# func_run_infer <command head> <model dir> <image dir> <batch size> <precision> <results dir> <log file>:
# appends the arguments every setting shares to the device-specific command head, runs it and records its status.
function func_run_infer(){
    local command="$1 $(func_set_params "${infer_model_key}" "$2") $(func_set_params "${image_dir_key}" "$3")"
    command="${command} $(func_set_params "${batch_size_key}" "$4") $(func_set_params "${precision_key}" "$5")"
    command="${command} $(func_set_params "${benchmark_key}" "${benchmark_value}") $(func_set_params "${infer_key1}" "$6")"
    command="${command} $(func_set_params "${infer_key2}" "${infer_value2}")"
    echo ${command}
    run_command "${command}" "$7"
    status_check $? "${command}" "${status_log}" "${model_name}" "$7"
}

# func_inference <python> <infer script> <exported model dir> <log dir> <image list> <is quant> <gpu setting>
function func_inference(){
    local IFS='|'
    local _python=$1
    local _script=$2
    local _model_dir="$3/deploy.yaml"
    local _log_path=$4
    local _img_dir=$5
    local _flag_quant=$6
    local _gpu=$7
    local use_gpu use_mkldnn threads batch_size precision use_trt
    for use_gpu in ${use_gpu_list[*]}; do
        if [ "${use_gpu}" = "False" ] || [ "${use_gpu}" = "cpu" ]; then
            for use_mkldnn in ${use_mkldnn_list[*]}; do
                if [ "${use_mkldnn}" = "False" ] && [ "${_flag_quant}" = "True" ]; then
                    continue
                fi
                for threads in ${cpu_threads_list[*]}; do
                    for batch_size in ${batch_size_list[*]}; do
                        for precision in ${precision_list[*]}; do
                            # oneDNN is the only CPU path for fp16; int8 only for quantised models; fp32 otherwise.
                            if [ "${use_mkldnn}" = "False" ] && [ "${precision}" = "fp16" ]; then
                                continue
                            fi
                            if [ "${_flag_quant}" = "True" ] && [ "${precision}" != "int8" ]; then
                                continue
                            fi
                            if [ "${_flag_quant}" = "False" ] && [ "${precision}" != "fp32" ]; then
                                continue
                            fi
                            local _save_log_path="${_log_path}/python_infer_cpu_gpus_${_gpu}_usemkldnn_${use_mkldnn}_threads_${threads}_precision_${precision}_batchsize_${batch_size}.log"
                            local _results="${_log_path}/python_infer_cpu_usemkldnn_${use_mkldnn}_threads_${threads}_precision_${precision}_batchsize_${batch_size}_results"
                            local set_cpu_threads=$(func_set_params "${cpu_threads_key}" "${threads}")
                            func_run_infer "${_python} ${_script} ${use_gpu_key}=${use_gpu} ${use_mkldnn_key}=${use_mkldnn} ${set_cpu_threads}" \
                                "${_model_dir}" "${_img_dir}" "${batch_size}" "${precision}" "${_results}" "${_save_log_path}"
                        done
                    done
                done
            done
        elif [ "${use_gpu}" = "True" ] || [ "${use_gpu}" = "gpu" ]; then
            for use_trt in ${use_trt_list[*]}; do
                for precision in ${precision_list[*]}; do
                    # Without TensorRT only fp32 runs on GPU; quantised models need TensorRT int8.
                    if [[ "${_flag_quant}" = "False" ]] && [[ "${precision}" =~ "int8" ]]; then
                        continue
                    fi
                    if [[ "${precision}" =~ "fp16" || "${precision}" =~ "int8" ]] && [ "${use_trt}" = "False" ]; then
                        continue
                    fi
                    if [[ "${use_trt}" = "False" || "${precision}" =~ "int8" ]] && [ "${_flag_quant}" = "True" ]; then
                        continue
                    fi
                    for batch_size in ${batch_size_list[*]}; do
                        local _save_log_path="${_log_path}/python_infer_gpu_gpus_${_gpu}_usetrt_${use_trt}_precision_${precision}_batchsize_${batch_size}.log"
                        local _results="${_log_path}/python_infer_gpu_usetrt_${use_trt}_precision_${precision}_batchsize_${batch_size}_results"
                        local set_tensorrt=$(func_set_params "${use_trt_key}" "${use_trt}")
                        func_run_infer "${_python} ${_script} ${use_gpu_key}=${use_gpu} ${set_tensorrt}" \
                            "${_model_dir}" "${_img_dir}" "${batch_size}" "${precision}" "${_results}" "${_save_log_path}"
                    done
                done
            done
        else
            echo "TIPC: inference device '${use_gpu}' is not supported (cpu or gpu)"
            status_check 1 "inference on device ${use_gpu}" "${status_log}" "${model_name}"
        fi
    done
}
