// The few syscalls Node and Bun do not expose: setns(2), raw netlink sockets, flock(2),
// AF_UNIX datagrams (sd_notify) and the SIOCETHTOOL ioctl's one-value commands; the file
// syscalls of the standalone build are in fs_ops.c.
// Pure N-API (node_api.h) so the same binary loads in Node >= 20 and in Bun, including a
// `bun build --compile` executable. Contract: shared/native/addon.ts.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <node_api.h>

#include "fs_ops.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

// Netlink replies for a dump of a busy table can be large; 8 MiB of receive buffer keeps the
// kernel from dropping messages (ENOBUFS) while JS parses the previous datagram.
#define NL_RCVBUF (8 * 1024 * 1024)

static const char *errno_name(int e) {
  switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF)
    E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV)
    E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(EFBIG)
    E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK)
    E(ENAMETOOLONG) E(ENOLCK) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOMSG) E(ENODATA)
    E(ENOBUFS) E(EPROTO) E(EBADMSG) E(EOVERFLOW) E(EOPNOTSUPP) E(EAFNOSUPPORT)
    E(EPROTONOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH)
    E(ECONNREFUSED) E(ECONNRESET) E(EHOSTUNREACH) E(ETIMEDOUT) E(EALREADY)
    E(EINPROGRESS) E(ENOTSOCK) E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT)
    E(ESOCKTNOSUPPORT) E(ENOTCONN) E(EISCONN) E(ESHUTDOWN) E(ENONET) E(ENOLINK)
    E(ENOTUNIQ) E(ERFKILL) E(ENOKEY) E(EUSERS) E(ESTALE) E(EDQUOT) E(ECANCELED)
#undef E
    default: return NULL;
  }
}

// Throws Error(`${syscall}: ${strerror}`) with .code = errno name and .errno = errno.
static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char codebuf[16];
  const char *code = errno_name(err);
  if (!code) {
    snprintf(codebuf, sizeof codebuf, "E%d", err);
    code = codebuf;
  }
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (%s)", syscall, strerror(err), code);
  napi_value jmsg, jcode, jerr, jerrno, jsys;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode);
  napi_create_error(env, NULL, jmsg, &jerr);
  napi_set_named_property(env, jerr, "code", jcode);
  napi_create_int32(env, err, &jerrno);
  napi_set_named_property(env, jerr, "errno", jerrno);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &jsys);
  napi_set_named_property(env, jerr, "syscall", jsys);
  napi_throw(env, jerr);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

// Reads `n` int32 arguments; false (with a pending TypeError) when one is not a number.
static int get_ints(napi_env env, napi_callback_info info, size_t n, int32_t *out,
                    napi_value *argv) {
  size_t argc = 4;
  napi_value args[4];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok) return 0;
  for (size_t i = 0; i < n; i++) {
    napi_valuetype t = napi_undefined;
    if (i < argc) napi_typeof(env, args[i], &t);
    if (t != napi_number) {
      throw_type(env, "expected a number argument");
      return 0;
    }
    napi_get_value_int32(env, args[i], &out[i]);
  }
  if (argv) for (size_t i = 0; i < 4; i++) argv[i] = i < argc ? args[i] : NULL;
  return 1;
}

static napi_value js_setns(napi_env env, napi_callback_info info) {
  int32_t a[2];
  if (!get_ints(env, info, 2, a, NULL)) return NULL;
  if (setns(a[0], a[1]) != 0) return throw_errno(env, "setns", errno);
  return NULL;
}

static napi_value js_nl_open(napi_env env, napi_callback_info info) {
  int32_t a[2];
  napi_value argv[4];
  if (!get_ints(env, info, 2, a, argv)) return NULL;
  // Optional third argument: the multicast groups (RTMGRP_* bits) whose notifications the
  // socket receives; 0 (the default) for a request/reply socket.
  uint32_t groups = 0;
  if (argv[2]) {
    napi_valuetype t = napi_undefined;
    napi_typeof(env, argv[2], &t);
    if (t == napi_number) napi_get_value_uint32(env, argv[2], &groups);
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, a[0]);
  if (fd < 0) return throw_errno(env, "socket", errno);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = groups;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  struct timeval tv;
  tv.tv_sec = a[1] / 1000;
  tv.tv_usec = (a[1] % 1000) * 1000;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "setsockopt(SO_RCVTIMEO)", e);
  }
  int sz = NL_RCVBUF;
  // SO_RCVBUFFORCE ignores rmem_max but needs CAP_NET_ADMIN; fall back to the capped option.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  int one = 1;
  // Extended ACK: the kernel appends a human-readable reason to error replies.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  // Strict checking makes dump filters (ifindex, family) honoured by the kernel; optional.
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
  napi_value r;
  napi_create_int32(env, fd, &r);
  return r;
}

static napi_value js_nl_send(napi_env env, napi_callback_info info) {
  int32_t a[1];
  napi_value argv[4];
  if (!get_ints(env, info, 1, a, argv)) return NULL;
  void *data = NULL;
  size_t len = 0;
  bool is_buf = false;
  if (argv[1]) napi_is_buffer(env, argv[1], &is_buf);
  if (!is_buf) {
    bool is_ta = false;
    if (argv[1]) napi_is_typedarray(env, argv[1], &is_ta);
    if (!is_ta) return throw_type(env, "nlSend: expected a Buffer");
    napi_typedarray_type tt;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(env, argv[1], &tt, &len, &data, &ab, &off);
    if (tt != napi_uint8_array) return throw_type(env, "nlSend: expected a Uint8Array");
  } else {
    napi_get_buffer_info(env, argv[1], &data, &len);
  }
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;  // nl_pid 0: the kernel
  ssize_t n;
  do {
    n = sendto(a[0], data, len, 0, (struct sockaddr *)&sa, sizeof sa);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "sendto", errno);
  if ((size_t)n != len) return throw_errno(env, "sendto", EMSGSIZE);
  return NULL;
}

static napi_value js_nl_recv(napi_env env, napi_callback_info info) {
  int32_t a[1];
  if (!get_ints(env, info, 1, a, NULL)) return NULL;
  // MSG_TRUNC on a datagram socket returns the full length even with a zero-sized buffer,
  // so the buffer can be sized exactly for this datagram.
  char dummy;
  ssize_t size;
  do {
    size = recv(a[0], &dummy, 0, MSG_PEEK | MSG_TRUNC);
  } while (size < 0 && errno == EINTR);
  if (size < 0) return throw_errno(env, "recv", errno);
  void *data = NULL;
  napi_value buf;
  if (napi_create_buffer(env, size > 0 ? (size_t)size : 1, &data, &buf) != napi_ok) return NULL;
  ssize_t n;
  do {
    n = recv(a[0], data, size > 0 ? (size_t)size : 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, "recv", errno);
  if (n != size) {
    napi_value copy;
    void *cdata;
    napi_create_buffer_copy(env, (size_t)n, data, &cdata, &copy);
    return copy;
  }
  return buf;
}

static napi_value js_flock(napi_env env, napi_callback_info info) {
  int32_t a[2];
  if (!get_ints(env, info, 2, a, NULL)) return NULL;
  int r;
  do {
    r = flock(a[0], a[1]);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return throw_errno(env, "flock", errno);
  return NULL;
}

// Reads a string argument into buf (NUL-terminated); returns its length, or -1 with a pending
// TypeError when it is not a string or does not fit.
static ssize_t get_string(napi_env env, napi_value v, char *buf, size_t size, const char *what) {
  napi_valuetype t = napi_undefined;
  if (v) napi_typeof(env, v, &t);
  if (t != napi_string) {
    throw_type(env, what);
    return -1;
  }
  size_t len = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (len + 1 > size) {
    throw_type(env, what);
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, size, &len);
  return (ssize_t)len;
}

// sdNotify(socketPath, message): one datagram to systemd's notification socket ($NOTIFY_SOCKET),
// as sd_notify(3) does. A path starting with '@' names an abstract socket: the '@' becomes the
// leading NUL and the address length stops at the name's end (abstract names are not
// NUL-terminated).
static napi_value js_sd_notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2] = {NULL, NULL};
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok) return NULL;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  char path[sizeof sa.sun_path + 1];
  ssize_t plen = get_string(env, args[0], path, sizeof path,
                            "sdNotify: socket path must be a string of at most 108 bytes");
  if (plen < 0) return NULL;
  if (plen == 0 || (plen == 1 && path[0] == '@')) return throw_type(env, "sdNotify: empty socket path");
  if (path[0] != '@' && path[0] != '/') return throw_type(env, "sdNotify: socket path must be absolute or start with '@'");
  if (path[0] != '@' && (size_t)plen >= sizeof sa.sun_path) return throw_type(env, "sdNotify: socket path too long");
  memcpy(sa.sun_path, path, (size_t)plen);
  if (path[0] == '@') sa.sun_path[0] = '\0';
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)plen + (path[0] == '@' ? 0 : 1));
  char msg[4096];
  ssize_t mlen = get_string(env, args[1], msg, sizeof msg, "sdNotify: message must be a string of under 4096 bytes");
  if (mlen < 0) return NULL;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  ssize_t n;
  do {
    n = sendto(fd, msg, (size_t)mlen, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  } while (n < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "sendto", e);
  if (n != mlen) return throw_errno(env, "sendto", EMSGSIZE);
  return NULL;
}

// ---------------------------------------------------------------- flockWait
// flockWait(fd, op, timeoutMs): a blocking flock(2) bounded by a timeout. A blocking wait
// matters: when the holder unlocks, the kernel wakes the blocked waiters at once, so a waiter
// that polls with LOCK_NB (and sleeps between tries) loses nearly every race against the
// reference plugins' blocking waiters and can starve until its timeout.
// The wait runs in a helper thread while the caller waits on a condition variable with a
// deadline. On timeout the helper is interrupted with a no-op signal (installed without
// SA_RESTART, so its flock returns EINTR) and joined: no thread and no lock outlive the call.
// A lock granted just as the deadline passed is kept and reported as success.
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

struct fl_wait {
  int fd, op;
  int done, err;
  volatile sig_atomic_t abandoned;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

static int fl_signal = 0;  // the interrupt signal, chosen once (0 when none could be installed)

static void fl_noop(int sig) { (void)sig; }

// A real-time signal nobody else handles (the runtimes use none of these).
static int fl_pick_signal(void) {
  if (fl_signal) return fl_signal;
  for (int sig = SIGRTMAX - 1; sig >= SIGRTMIN + 2; sig--) {
    struct sigaction old;
    if (sigaction(sig, NULL, &old) != 0) continue;
    if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fl_noop;  // no SA_RESTART: the blocked flock returns EINTR
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) == 0) return fl_signal = sig;
  }
  return 0;
}

static void *fl_thread(void *arg) {
  struct fl_wait *w = arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, fl_signal);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  int r, err = 0;
  for (;;) {
    if (w->abandoned) { err = ETIMEDOUT; break; }
    r = flock(w->fd, w->op);
    if (r == 0) break;
    if (errno != EINTR) { err = errno; break; }
  }
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  w->err = err;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

// The bounded blocking wait; returns 0 (held) or an errno (ETIMEDOUT at the deadline).
static int fl_bounded(int fd, int op, int32_t timeout_ms) {
  int r;
  do {
    r = flock(fd, op | LOCK_NB);  // free or ours already: no thread needed
  } while (r != 0 && errno == EINTR);
  if (r == 0) return 0;
  if (errno != EWOULDBLOCK) return errno;
  if (timeout_ms == 0) return ETIMEDOUT;
  if (!fl_pick_signal()) return ENOSYS;

  struct fl_wait w = {.fd = fd, .op = op, .done = 0, .err = 0, .abandoned = 0};
  pthread_mutex_init(&w.mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w.cv, &ca);
  pthread_condattr_destroy(&ca);

  pthread_t th;
  int e = pthread_create(&th, NULL, fl_thread, &w);
  if (e != 0) {
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return e;
  }
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000L; }

  pthread_mutex_lock(&w.mu);
  while (!w.done) {
    if (pthread_cond_timedwait(&w.cv, &w.mu, &deadline) == ETIMEDOUT) break;
  }
  int timed_out = !w.done;
  pthread_mutex_unlock(&w.mu);
  if (timed_out) {
    w.abandoned = 1;
    // Repeat: a signal sent just before the helper entered flock would be lost.
    for (;;) {
      pthread_mutex_lock(&w.mu);
      int d = w.done;
      pthread_mutex_unlock(&w.mu);
      if (d) break;
      pthread_kill(th, fl_signal);
      struct timespec ms = {0, 1000000L};
      nanosleep(&ms, NULL);
    }
  }
  pthread_join(th, NULL);
  pthread_cond_destroy(&w.cv);
  pthread_mutex_destroy(&w.mu);
  return w.err;
}

// flockWait(fd, op, timeoutMs) → Promise: the bounded wait runs as N-API async work (on the
// runtime's thread pool), so the event loop keeps running meanwhile.
struct fl_job {
  napi_async_work work;
  napi_deferred deferred;
  int fd, op, timeout_ms, err;
};

static void fl_execute(napi_env env, void *data) {
  struct fl_job *j = data;
  j->err = fl_bounded(j->fd, j->op, j->timeout_ms);
}

static void fl_complete(napi_env env, napi_status status, void *data) {
  struct fl_job *j = data;
  if (status == napi_ok && j->err == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, j->deferred, undef);
  } else {
    int err = status == napi_ok ? j->err : ECANCELED;
    throw_errno(env, err == ENOSYS ? "flock (no free signal to bound the wait)" : "flock", err);
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_reject_deferred(env, j->deferred, exc);
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value js_flock_wait(napi_env env, napi_callback_info info) {
  int32_t a[3];
  if (!get_ints(env, info, 3, a, NULL)) return NULL;
  if (a[2] < 0 || (a[1] & LOCK_NB)) return throw_type(env, "flockWait: timeoutMs >= 0 and an op without LOCK_NB");
  struct fl_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, "calloc", ENOMEM);
  j->fd = a[0];
  j->op = a[1];
  j->timeout_ms = a[2];
  napi_value promise, name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, "cni_native.flockWait", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, fl_execute, fl_complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}
// ---------------------------------------------------------------- end flockWait

// ethtoolValue(ifname, cmd, data): one SIOCETHTOOL request with a struct ethtool_value (the
// legacy one-value commands, e.g. ETHTOOL_GTXCSUM / ETHTOOL_STXCSUM), on the device of that name
// in the calling thread's network namespace. Returns the struct's data after the call (the value
// for a get command). The socket only carries the ioctl to the device (AF_INET, as ethtool(8)).
static napi_value js_ethtool_value(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3] = {NULL, NULL, NULL};
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok) return NULL;
  char name[IFNAMSIZ + 1];
  ssize_t nlen = get_string(env, args[0], name, sizeof name, "ethtoolValue: interface name must be a string of at most 15 bytes");
  if (nlen < 0) return NULL;
  if (nlen == 0 || nlen >= IFNAMSIZ) return throw_type(env, "ethtoolValue: interface name must be 1 to 15 bytes");
  int32_t cmd = 0, data = 0;
  napi_valuetype t1 = napi_undefined, t2 = napi_undefined;
  if (argc > 1) napi_typeof(env, args[1], &t1);
  if (argc > 2) napi_typeof(env, args[2], &t2);
  if (t1 != napi_number || t2 != napi_number) return throw_type(env, "ethtoolValue: cmd and data must be numbers");
  napi_get_value_int32(env, args[1], &cmd);
  napi_get_value_int32(env, args[2], &data);
  struct ethtool_value ev;
  memset(&ev, 0, sizeof ev);
  ev.cmd = (uint32_t)cmd;
  ev.data = (uint32_t)data;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, (size_t)nlen);
  ifr.ifr_data = (void *)&ev;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int rc = ioctl(fd, SIOCETHTOOL, &ifr);
  int e = errno;
  close(fd);
  if (rc != 0) return throw_errno(env, "ioctl(SIOCETHTOOL)", e);
  napi_value out;
  napi_create_uint32(env, ev.data, &out);
  return out;
}

static void def(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

NAPI_MODULE_INIT() {
  def(env, exports, "setns", js_setns);
  def(env, exports, "nlOpen", js_nl_open);
  def(env, exports, "nlSend", js_nl_send);
  def(env, exports, "nlRecv", js_nl_recv);
  def(env, exports, "flock", js_flock);
  def(env, exports, "sdNotify", js_sd_notify);
  def(env, exports, "flockWait", js_flock_wait);
  def(env, exports, "ethtoolValue", js_ethtool_value);
  register_fs_ops(env, exports);
  return exports;
}
