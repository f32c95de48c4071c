//go:build tools

// Package tools pins the commands built by scripts/capi-binaries so `go mod tidy` keeps them.
package tools

import (
	_ "sigs.k8s.io/cluster-api"
	_ "sigs.k8s.io/cluster-api/bootstrap/kubeadm"
	_ "sigs.k8s.io/cluster-api/controlplane/kubeadm"
)
