//go:build tools

// Package tools pins the commands built by scripts/kube-binaries so `go mod tidy` keeps them.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
