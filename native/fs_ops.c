// File syscalls for the standalone (Bun) build. A Bun-compiled executable pays ~0.85 ms to load
// node:fs, about a fifth of an empty program's run, and a plugin call needs only a handful of
// file operations. These are the bare syscalls: every function returns the result or -errno and
// never throws for a failed syscall; shared/native/sysfs.ts turns -errno into Node's fs errors
// (same code, message, syscall and path, and readdir sorted as libuv sorts it).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <node_api.h>

#include "fs_ops.h"

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

// A malloc'ed UTF-8 copy of a string argument (NULL with a pending TypeError otherwise).
static char *str_arg(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  if (v) napi_typeof(env, v, &t);
  if (t != napi_string) {
    type_error(env, "expected a path string");
    return NULL;
  }
  size_t len = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  char *s = malloc(len + 1);
  if (!s) {
    type_error(env, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) {  // an embedded NUL would silently shorten the path
    free(s);
    type_error(env, "path must not contain NUL bytes");
    return NULL;
  }
  return s;
}

static int int_arg(napi_env env, napi_value v, int32_t *out) {
  napi_valuetype t = napi_undefined;
  if (v) napi_typeof(env, v, &t);
  if (t != napi_number) {
    type_error(env, "expected a number argument");
    return 0;
  }
  napi_get_value_int32(env, v, out);
  return 1;
}

#define ARGS(n)                                                            \
  size_t argc = (n);                                                       \
  napi_value argv[(n)];                                                    \
  for (size_t i_ = 0; i_ < (n); i_++) argv[i_] = NULL;                     \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;

static napi_value ret(napi_env env, long rc) { return num(env, rc < 0 ? -errno : (double)rc); }

// The data of a Float64Array argument of at least `min` elements (NULL with a pending TypeError).
static double *f64_arg(napi_env env, napi_value v, size_t min) {
  bool is_ta = false;
  if (v) napi_is_typedarray(env, v, &is_ta);
  napi_typedarray_type tt;
  size_t n = 0;
  void *data = NULL;
  if (is_ta) napi_get_typedarray_info(env, v, &tt, &n, &data, NULL, NULL);
  if (!is_ta || tt != napi_float64_array || n < min) {
    type_error(env, "expected a Float64Array large enough for the result");
    return NULL;
  }
  return data;
}

// fsOpen(path, flags, mode) -> fd | -errno. O_CLOEXEC always: nothing we exec inherits it.
static napi_value js_open(napi_env env, napi_callback_info info) {
  ARGS(3);
  int32_t flags, mode;
  if (!int_arg(env, argv[1], &flags) || !int_arg(env, argv[2], &mode)) return NULL;
  char *p = str_arg(env, argv[0]);
  if (!p) return NULL;
  int fd;
  do fd = open(p, flags | O_CLOEXEC, (mode_t)mode); while (fd < 0 && errno == EINTR);
  napi_value out = ret(env, fd);
  free(p);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  int32_t fd;
  if (!int_arg(env, argv[0], &fd)) return NULL;
  return ret(env, close(fd));
}

// fsRead(fd, buf, offset, length, position) / fsWrite(fd, buf, offset, length, position)
// -> bytes | -errno; position < 0 means the file's current offset (read/write), else pread/pwrite.
static napi_value rw(napi_env env, napi_callback_info info, int write_it) {
  ARGS(5);
  int32_t fd, off, len, pos;
  if (!int_arg(env, argv[0], &fd) || !int_arg(env, argv[2], &off) || !int_arg(env, argv[3], &len) || !int_arg(env, argv[4], &pos)) return NULL;
  bool is_ta = false;
  if (argv[1]) napi_is_typedarray(env, argv[1], &is_ta);
  if (!is_ta) return type_error(env, "expected a Uint8Array");
  napi_typedarray_type tt;
  size_t n = 0;
  void *data = NULL;
  napi_get_typedarray_info(env, argv[1], &tt, &n, &data, NULL, NULL);
  if (tt != napi_uint8_array || off < 0 || len < 0 || (size_t)off + (size_t)len > n) return type_error(env, "buffer range out of bounds");
  char *p = (char *)data + off;
  ssize_t r;
  do {
    if (write_it) r = pos < 0 ? write(fd, p, (size_t)len) : pwrite(fd, p, (size_t)len, pos);
    else r = pos < 0 ? read(fd, p, (size_t)len) : pread(fd, p, (size_t)len, pos);
  } while (r < 0 && errno == EINTR);
  return ret(env, r);
}
static napi_value js_read(napi_env env, napi_callback_info info) { return rw(env, info, 0); }
static napi_value js_write(napi_env env, napi_callback_info info) { return rw(env, info, 1); }

static double ms(struct timespec t) { return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6; }

// fsStat(pathOrNull, fd, follow, out: Float64Array(11)) -> 0 | -errno; with a null path, fstat(fd).
// out: dev, ino, mode, nlink, uid, gid, rdev, size, atimeMs, mtimeMs, ctimeMs.
static napi_value js_stat(napi_env env, napi_callback_info info) {
  ARGS(4);
  int32_t fd, follow;
  if (!int_arg(env, argv[1], &fd) || !int_arg(env, argv[2], &follow)) return NULL;
  double *o = f64_arg(env, argv[3], 11);
  if (!o) return NULL;
  napi_valuetype pt = napi_undefined;
  napi_typeof(env, argv[0], &pt);
  struct stat st;
  int rc, err;
  if (pt == napi_null) {
    rc = fstat(fd, &st);
    err = errno;
  } else {
    char *p = str_arg(env, argv[0]);
    if (!p) return NULL;
    rc = follow ? stat(p, &st) : lstat(p, &st);
    err = errno;  // before free(), which may touch errno
    free(p);
  }
  if (rc < 0) return num(env, -err);
  o[0] = (double)st.st_dev; o[1] = (double)st.st_ino; o[2] = st.st_mode; o[3] = (double)st.st_nlink;
  o[4] = st.st_uid; o[5] = st.st_gid; o[6] = (double)st.st_rdev; o[7] = (double)st.st_size;
  o[8] = ms(st.st_atim); o[9] = ms(st.st_mtim); o[10] = ms(st.st_ctim);
  return num(env, 0);
}

// fsStatfs(path, out: Float64Array(7)) -> 0 | -errno.
// out: type (the filesystem magic), bsize, blocks, bfree, bavail, files, ffree.
static napi_value js_statfs(napi_env env, napi_callback_info info) {
  ARGS(2);
  double *o = f64_arg(env, argv[1], 7);
  if (!o) return NULL;
  char *p = str_arg(env, argv[0]);
  if (!p) return NULL;
  struct statfs s;
  int rc = statfs(p, &s);
  int err = errno;
  free(p);
  if (rc < 0) return num(env, -err);
  o[0] = (double)(unsigned long)s.f_type; o[1] = (double)s.f_bsize; o[2] = (double)s.f_blocks;
  o[3] = (double)s.f_bfree; o[4] = (double)s.f_bavail; o[5] = (double)s.f_files; o[6] = (double)s.f_ffree;
  return num(env, 0);
}

// One path argument and one int: mkdir(path, mode), access(path, mode).
static napi_value path_int(napi_env env, napi_callback_info info, int which) {
  ARGS(2);
  int32_t v;
  if (!int_arg(env, argv[1], &v)) return NULL;
  char *p = str_arg(env, argv[0]);
  if (!p) return NULL;
  int rc = which == 0 ? mkdir(p, (mode_t)v) : access(p, v);
  napi_value out = ret(env, rc);
  free(p);
  return out;
}
static napi_value js_mkdir(napi_env env, napi_callback_info info) { return path_int(env, info, 0); }
static napi_value js_access(napi_env env, napi_callback_info info) { return path_int(env, info, 1); }

// One path argument: unlink(path), rmdir(path).
static napi_value path_only(napi_env env, napi_callback_info info, int which) {
  ARGS(1);
  char *p = str_arg(env, argv[0]);
  if (!p) return NULL;
  int rc = which == 0 ? unlink(p) : rmdir(p);
  napi_value out = ret(env, rc);
  free(p);
  return out;
}
static napi_value js_unlink(napi_env env, napi_callback_info info) { return path_only(env, info, 0); }
static napi_value js_rmdir(napi_env env, napi_callback_info info) { return path_only(env, info, 1); }

static napi_value js_rename(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *a = str_arg(env, argv[0]);
  if (!a) return NULL;
  char *b = str_arg(env, argv[1]);
  if (!b) {
    free(a);
    return NULL;
  }
  int rc = rename(a, b);
  napi_value out = ret(env, rc);
  free(a);
  free(b);
  return out;
}

// fd and one int: fchmod(fd, mode); fsync(fd) ignores the int.
static napi_value fd_int(napi_env env, napi_callback_info info, int which) {
  ARGS(2);
  int32_t fd, v = 0;
  if (!int_arg(env, argv[0], &fd)) return NULL;
  if (which == 0 && !int_arg(env, argv[1], &v)) return NULL;
  int rc;
  do rc = which == 0 ? fchmod(fd, (mode_t)v) : fsync(fd); while (rc < 0 && errno == EINTR);
  return ret(env, rc);
}
static napi_value js_fchmod(napi_env env, napi_callback_info info) { return fd_int(env, info, 0); }
static napi_value js_fsync(napi_env env, napi_callback_info info) { return fd_int(env, info, 1); }

// fsReaddir(path, withTypes) -> names (without . and ..) | -errno, sorted by strcmp as libuv's
// scandir sorts them for Node. With withTypes, each name is followed by its d_type
// (DT_UNKNOWN = 0 when the filesystem does not say; the caller lstat()s).
struct entry {
  char *name;
  unsigned char type;
};

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static napi_value js_readdir(napi_env env, napi_callback_info info) {
  ARGS(2);
  int32_t with_types = 0;
  if (argv[1] && !int_arg(env, argv[1], &with_types)) return NULL;
  char *p = str_arg(env, argv[0]);
  if (!p) return NULL;
  DIR *d = opendir(p);
  int open_err = errno;
  free(p);
  if (!d) return num(env, -open_err);
  struct entry *list = NULL;
  size_t n = 0, cap = 0;
  int err = 0;
  for (;;) {
    errno = 0;  // readdir() leaves errno alone at the end of the directory
    struct dirent *e = readdir(d);
    if (!e) {
      err = errno;
      break;
    }
    if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0))) continue;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      struct entry *nl = realloc(list, ncap * sizeof *nl);
      if (!nl) {
        err = ENOMEM;
        break;
      }
      list = nl;
      cap = ncap;
    }
    list[n].name = strdup(e->d_name);
    if (!list[n].name) {
      err = ENOMEM;
      break;
    }
    list[n++].type = e->d_type;
  }
  closedir(d);
  napi_value out = NULL;
  if (err) {
    out = num(env, -err);
  } else {
    qsort(list, n, sizeof *list, by_name);
    napi_create_array(env, &out);
    uint32_t i = 0;
    for (size_t k = 0; k < n; k++) {
      napi_value s;
      napi_create_string_utf8(env, list[k].name, NAPI_AUTO_LENGTH, &s);
      napi_set_element(env, out, i++, s);
      if (with_types) napi_set_element(env, out, i++, num(env, list[k].type));
    }
  }
  for (size_t k = 0; k < n; k++) free(list[k].name);
  free(list);
  return out;
}

// fsReadText(path) -> the whole file as a UTF-8 string | -errno of open | -(4096 + errno) of
// read. One call instead of open/read/read/close from JS: host-local reads every reservation
// file of the network on each ADD and DEL. Reads to EOF whatever the file is (a FIFO's bytes
// cannot be read twice), growing the buffer as needed.
static napi_value js_read_text(napi_env env, napi_callback_info info) {
  ARGS(1);
  char *p = str_arg(env, argv[0]);
  if (!p) return NULL;
  int fd;
  do fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY); while (fd < 0 && errno == EINTR);
  int open_err = errno;
  free(p);
  if (fd < 0) return num(env, -open_err);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  int err = buf ? 0 : ENOMEM;
  while (!err) {
    if (len == cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        err = ENOMEM;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) err = 4096 + errno;
    else if (r == 0) break;
    else len += (size_t)r;
  }
  close(fd);
  napi_value out;
  if (err) out = num(env, -err);
  else napi_create_string_utf8(env, buf, len, &out);
  free(buf);
  return out;
}

static void def(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

void register_fs_ops(napi_env env, napi_value exports) {
  def(env, exports, "fsOpen", js_open);
  def(env, exports, "fsClose", js_close);
  def(env, exports, "fsRead", js_read);
  def(env, exports, "fsWrite", js_write);
  def(env, exports, "fsStat", js_stat);
  def(env, exports, "fsStatfs", js_statfs);
  def(env, exports, "fsMkdir", js_mkdir);
  def(env, exports, "fsAccess", js_access);
  def(env, exports, "fsUnlink", js_unlink);
  def(env, exports, "fsRmdir", js_rmdir);
  def(env, exports, "fsRename", js_rename);
  def(env, exports, "fsFchmod", js_fchmod);
  def(env, exports, "fsFsync", js_fsync);
  def(env, exports, "fsReaddir", js_readdir);
  def(env, exports, "fsReadText", js_read_text);
}
