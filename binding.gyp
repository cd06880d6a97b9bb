{
  "targets": [
    {
      "target_name": "cni_native",
      "sources": ["native/cni_native.c", "native/fs_ops.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
