#!/usr/bin/env bash
# Writes the network config flanneld reads from etcd (etcd v3 API: keys written with the v2 API
# are invisible to it). Run once per cluster, from any machine with etcdctl and the client cert.
ETCDCTL_API=3 etcdctl --cacert=/opt/etcd/ssl/ca.pem --cert=/opt/etcd/ssl/server.pem --key=/opt/etcd/ssl/server-key.pem \
  --endpoints=https://10.0.0.1:2379,https://10.0.0.2:2379 \
  put /coreos.com/network/config '{ "Network": "172.17.0.0/16", "Backend": {"Type": "vxlan"}}'
