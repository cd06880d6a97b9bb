// A test driver over the real libcni (Debian's golang-github-appc-cni-dev, built in GOPATH mode
// by test/e2e/real-libcni.test.ts): one request on stdin, one JSON answer on stdout. It lets the
// tests run a conflist through the library runtimes embed (containerd 1.6/1.7, podman 4 use
// libcni < 1.2) and compare with the libcni-faithful harness in test/helpers/libcni.ts.
//
// Request:  {"op": "load"|"add"|"check"|"del"|"cached", "confFile", "pluginDirs", "cacheDir",
//            "containerId", "netns", "ifname", "args": [[k, v]...], "capabilityArgs": {...}}
// Answer:   {"cniVersion": <the list version libcni parsed>, "result": <ADD result or cached
//            result>, "error": {"text", "code", "msg", "details"}} (error absent on success).
// Exit status 0 whenever an answer was printed, 2 when the request itself is unusable.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

type request struct {
	Op             string                 `json:"op"`
	ConfFile       string                 `json:"confFile"`
	PluginDirs     []string               `json:"pluginDirs"`
	CacheDir       string                 `json:"cacheDir"`
	ContainerID    string                 `json:"containerId"`
	Netns          string                 `json:"netns"`
	IfName         string                 `json:"ifname"`
	Args           [][2]string            `json:"args"`
	CapabilityArgs map[string]interface{} `json:"capabilityArgs"`
}

type failure struct {
	Text    string `json:"text"`
	Code    uint   `json:"code,omitempty"`
	Msg     string `json:"msg,omitempty"`
	Details string `json:"details,omitempty"`
}

type answer struct {
	CNIVersion string          `json:"cniVersion"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      *failure        `json:"error,omitempty"`
}

func usage(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "libcni-driver: "+format+"\n", a...)
	os.Exit(2)
}

// toFailure keeps the plugin's own CNI error (code, msg, details) that libcni wraps.
func toFailure(err error) *failure {
	f := &failure{Text: err.Error()}
	var te *types.Error
	if errors.As(err, &te) {
		f.Code, f.Msg, f.Details = te.Code, te.Msg, te.Details
	}
	return f
}

func resultJSON(r types.Result) json.RawMessage {
	if r == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		usage("cannot marshal the result: %v", err)
	}
	return b
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		usage("reading the request: %v", err)
	}
	var req request
	if err := json.Unmarshal(in, &req); err != nil {
		usage("parsing the request: %v", err)
	}
	list, err := libcni.ConfListFromFile(req.ConfFile)
	if err != nil {
		usage("loading %s: %v", req.ConfFile, err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(req.PluginDirs, req.CacheDir, nil)
	rt := &libcni.RuntimeConf{
		ContainerID:    req.ContainerID,
		NetNS:          req.Netns,
		IfName:         req.IfName,
		Args:           req.Args,
		CapabilityArgs: req.CapabilityArgs,
	}
	out := answer{CNIVersion: list.CNIVersion}
	ctx := context.Background()
	switch req.Op {
	case "load":
	case "add":
		var r types.Result
		if r, err = cni.AddNetworkList(ctx, list, rt); err == nil {
			out.Result = resultJSON(r)
		}
	case "check":
		err = cni.CheckNetworkList(ctx, list, rt)
	case "del":
		err = cni.DelNetworkList(ctx, list, rt)
	case "cached":
		var r types.Result
		if r, err = cni.GetNetworkListCachedResult(list, rt); err == nil {
			out.Result = resultJSON(r)
		}
	default:
		usage("unknown op %q", req.Op)
	}
	if err != nil {
		out.Error = toFailure(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		usage("writing the answer: %v", err)
	}
}
