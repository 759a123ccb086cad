#!/bin/bash
# Helpers shared by the TIPC scripts: parsing the positional `key:value` config lines and recording the status of
# every command. Semantics follow PaddleSeg's test_tipc/common_func.sh, so its config files parse the same way.

# func_split_field <string> <separator> <index>: one field of a separated string.
function func_split_field(){
    local IFS=$2
    local array=($1)
    echo ${array[$3]}
}

# `key:value` -> key / value (values never contain ':')
function func_parser_key(){ func_split_field "$1" ":" 0; }
function func_parser_value(){ func_split_field "$1" ":" 1; }

# `key value` -> key / value (C++ infer configs separate by a space)
function func_parser_key_cpp(){ func_split_field "$1" " " 0; }
function func_parser_value_cpp(){ func_split_field "$1" " " 1; }

# `key` `value` -> `key=value`, or a blank when the key or the value is null / empty.
function func_set_params(){
    local key=$1
    local value=$2
    if [ "${key}x" = "nullx" ]; then
        echo " "
    elif [[ "${value}" = "null" ]] || [[ "${value}" = " " ]] || [ ${#value} -le 0 ]; then
        echo " "
    else
        echo "${key}=${value}"
    fi
}

# Per-mode value: `key:lite_train_lite_infer=20|whole_train_whole_infer=1000` -> the value for ${MODE}.
function func_parser_params(){
    local strs=$1
    local IFS=":"
    local array=(${strs})
    local tmp=${array[1]}
    local IFS="|"
    local _params
    for _params in ${tmp[*]}; do
        local IFS="="
        local pair=(${_params})
        if [[ "${pair[0]}" = "${MODE}" ]]; then
            echo ${pair[1]}
            return 0
        fi
        local IFS="|"
    done
    echo ""
}

# Number of failed commands in this run; the drivers exit non-zero when it is above 0.
TIPC_FAILED_COUNT=${TIPC_FAILED_COUNT:-0}

# status_check <exit code> <command> <status log> <model name> [<command's log file>]
# Appends PaddleSeg's status line to the status log (colour only on the terminal, plain text in the file).
function status_check(){
    local last_status=$1
    local run_command=$2
    local run_log=$3
    local model_name=$4
    local log_path=$5
    local line
    if [ "${last_status}" -eq 0 ] 2>/dev/null; then
        line="Run successfully with command - ${model_name} - ${run_command} - ${log_path}"
    else
        line="Run failed with command - ${model_name} - ${run_command} - ${log_path}"
        TIPC_FAILED_COUNT=$((TIPC_FAILED_COUNT + 1))
    fi
    echo "${line}" >> "${run_log}"
    echo -e "\033[33m ${line} \033[0m"
}

# run_command <command> [<log file>]: runs the command, copying its output to the log file; returns the
# command's own exit code, not tee's.
function run_command() {
    local cmd="$1"
    local log_path="$2"
    if [ -n "${log_path}" ]; then
        eval ${cmd} 2>&1 | tee "${log_path}"
        return ${PIPESTATUS[0]}
    else
        eval ${cmd}
    fi
}

# Reads a config file into the global array `lines`, dropping blank lines (positions count non-blank lines only).
function read_config_lines(){
    local filename=$1
    if [ ! -f "${filename}" ]; then
        echo "TIPC: config file not found: ${filename}" >&2
        return 1
    fi
    local dataline
    dataline=$(awk 'NF>0{print}' "${filename}")
    local IFS=$'\n'
    lines=(${dataline})
}

# Checks the positional layout of a train_infer_python.txt already read into `lines`: 52 slots with the section
# headers where PaddleSeg's driver expects them. A shifted line would silently feed a value to the wrong flag.
function check_train_infer_layout(){
    local filename=$1
    if [ ${#lines[@]} -lt 52 ]; then
        echo "TIPC: ${filename} has ${#lines[@]} non-blank lines; the train_infer_python layout needs 52" >&2
        return 1
    fi
    local idx header
    for idx in 0:train_params 22:eval_params 26:export_params 35:infer_params; do
        header=${idx#*:}
        idx=${idx%%:*}
        if [[ "${lines[idx]}" != *"=${header}="* ]]; then
            echo "TIPC: ${filename} non-blank line $((idx + 1)) should be the ${header} header, got: ${lines[idx]}" >&2
            return 1
        fi
    done
}
