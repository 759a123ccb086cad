#!/bin/bash
# TIPC paddle2onnx: Paddle inference model -> ONNX (paddle2onnx CLI) -> deploy/python/infer.py --backend onnxruntime,
# as PaddleSeg's test_tipc/test_paddle2onnx.sh (same 13-line config layout, same status lines).
# Usage: bash test_tipc/prepare.sh <..._paddle2onnx_python_linux_cpu.txt> paddle2onnx_infer
#        bash test_tipc/test_paddle2onnx.sh <..._paddle2onnx_python_linux_cpu.txt> paddle2onnx_infer
# Status lines go to test_tipc/output/<model_name>/paddle2onnx_infer/results_paddle2onnx.log; exits 1 if any failed.
source test_tipc/common_func.sh

FILENAME=$1
MODE=${2:-paddle2onnx_infer}

read_config_lines "${FILENAME}" || exit 2
if [[ "${lines[0]}" != *"=paddle2onnx_params="* ]] || [ ${#lines[@]} -lt 13 ]; then
    echo "TIPC: ${FILENAME} is not a paddle2onnx config (13 lines starting with the paddle2onnx_params header)" >&2
    exit 2
fi

model_name=$(func_parser_value "${lines[1]}")
python=$(func_parser_value "${lines[2]}")
paddle2onnx_cmd=$(func_parser_value "${lines[3]}")
infer_model_dir_key=$(func_parser_key "${lines[4]}")
infer_model_dir_value=$(func_parser_value "${lines[4]}")
model_filename_key=$(func_parser_key "${lines[5]}")
model_filename_value=$(func_parser_value "${lines[5]}")
params_filename_key=$(func_parser_key "${lines[6]}")
params_filename_value=$(func_parser_value "${lines[6]}")
save_file_key=$(func_parser_key "${lines[7]}")
save_file_value=$(func_parser_value "${lines[7]}")
opset_version_key=$(func_parser_key "${lines[8]}")
opset_version_value=$(func_parser_value "${lines[8]}")
enable_onnx_checker_key=$(func_parser_key "${lines[9]}")
enable_onnx_checker_value=$(func_parser_value "${lines[9]}")
inference_py=$(func_parser_value "${lines[10]}")
model_key=$(func_parser_key "${lines[11]}")
image_dir_key=$(func_parser_key "${lines[12]}")
image_dir_value=$(func_parser_value "${lines[12]}")

LOG_PATH="./test_tipc/output/${model_name}/${MODE}"
mkdir -p ${LOG_PATH}
status_log="${LOG_PATH}/results_paddle2onnx.log"
echo "------------------------ ${MODE} ------------------------" >> ${status_log}

# paddle2onnx
trans_model_log_path="${LOG_PATH}/trans_model.log"
set_dirname=$(func_set_params "${infer_model_dir_key}" "${infer_model_dir_value}")
set_model_filename=$(func_set_params "${model_filename_key}" "${model_filename_value}")
set_params_filename=$(func_set_params "${params_filename_key}" "${params_filename_value}")
set_save_model=$(func_set_params "${save_file_key}" "${save_file_value}")
set_opset_version=$(func_set_params "${opset_version_key}" "${opset_version_value}")
set_enable_onnx_checker=$(func_set_params "${enable_onnx_checker_key}" "${enable_onnx_checker_value}")
trans_model_cmd="${paddle2onnx_cmd} ${set_dirname} ${set_model_filename} ${set_params_filename} ${set_save_model} ${set_opset_version} ${set_enable_onnx_checker}"
run_command "${trans_model_cmd}" "${trans_model_log_path}"
last_status=$?
# prepare.sh removed any earlier model.onnx, so a missing file after exit code 0 is still a failed conversion.
if [ ${last_status} -eq 0 ] && [ ! -f "${save_file_value}" ]; then
    echo "TIPC: paddle2onnx exited 0 but wrote no ${save_file_value}" | tee -a ${trans_model_log_path}
    last_status=1
fi
status_check ${last_status} "${trans_model_cmd}" "${status_log}" "${model_name}" "${trans_model_log_path}"

# ONNX Runtime inference
_save_log_path="${LOG_PATH}/paddle2onnx_infer_cpu.log"
set_model_dir=$(func_set_params "${model_key}" "${save_file_value}")
set_img_dir=$(func_set_params "${image_dir_key}" "${image_dir_value}")
infer_model_cmd="${python} ${inference_py} ${set_img_dir} ${set_model_dir}"
run_command "${infer_model_cmd}" "${_save_log_path}"
status_check $? "${infer_model_cmd}" "${status_log}" "${model_name}" "${_save_log_path}"

if [ ${TIPC_FAILED_COUNT} -gt 0 ]; then
    echo "TIPC: ${TIPC_FAILED_COUNT} command(s) failed; see ${status_log}" >&2
    exit 1
fi
echo "TIPC: all commands succeeded; see ${status_log}"
