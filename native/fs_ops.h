// File syscalls of the addon (native/fs_ops.c).
#pragma once
#include <node_api.h>
void register_fs_ops(napi_env env, napi_value exports);
