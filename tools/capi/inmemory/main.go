// Command inmemory runs Cluster API's in-memory infrastructure provider for the CAPI tests: CAPD's
// Dev* kinds (DevCluster, DevMachine, DevMachineTemplate) whose spec.backend.inMemory simulates
// machines and the workload clusters' API servers and etcd in this process, no VMs or containers.
//
// The wiring mirrors CAPD's own main (sigs.k8s.io/cluster-api/test v1.13.7,
// test/infrastructure/docker/main.go) for everything the in-memory backend uses: the scheme, the
// cluster cache, the in-memory runtime manager with its own scheme, the workload-cluster API
// server mux, and both passed to the Dev* reconcilers. Left out: the Docker* reconcilers and
// webhooks, machine pools, the CRD migrator and leader election. The Dev* reconcilers refuse a nil
// container runtime, so a Docker client is still created; it is only used by the docker backend
// and does not connect until then.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/logs"
	logsv1 "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/controllers/clustercache"
	"sigs.k8s.io/cluster-api/controllers/remote"
	"sigs.k8s.io/cluster-api/feature"
	"sigs.k8s.io/cluster-api/test/infrastructure/container"
	infrav1beta1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta1"
	infrav1 "sigs.k8s.io/cluster-api/test/infrastructure/docker/api/v1beta2"
	"sigs.k8s.io/cluster-api/test/infrastructure/docker/controllers"
	infrawebhooks "sigs.k8s.io/cluster-api/test/infrastructure/docker/webhooks"
	cloudv1 "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/cloud/api/v1alpha1"
	inmemoryruntime "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/runtime"
	inmemoryserver "sigs.k8s.io/cluster-api/test/infrastructure/inmemory/pkg/server"
)

const controllerName = "runwright-capi-inmemory-manager"

var (
	inmemoryScheme = runtime.NewScheme()
	scheme         = runtime.NewScheme()
	setupLog       = ctrl.Log.WithName("setup")
	logOptions     = logs.NewOptions()

	watchFilterValue string
	syncPeriod       time.Duration
	concurrency      int
	webhookPort      int
	webhookCertDir   string
	healthAddr       string
	metricsAddr      string
	muxHost          string
	muxMinPort       int32
	muxMaxPort       int32
	muxDebugPort     int32
)

func init() {
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	_ = infrav1beta1.AddToScheme(scheme)
	_ = infrav1.AddToScheme(scheme)
	_ = clusterv1.AddToScheme(scheme)

	// The scheme of the in-memory "cloud" (the simulated machines and workload clusters).
	_ = cloudv1.AddToScheme(inmemoryScheme)
	_ = corev1.AddToScheme(inmemoryScheme)
	_ = appsv1.AddToScheme(inmemoryScheme)
	_ = rbacv1.AddToScheme(inmemoryScheme)
	_ = storagev1.AddToScheme(inmemoryScheme)
	_ = apiextensionsv1.AddToScheme(inmemoryScheme)
	_ = policyv1.AddToScheme(inmemoryScheme)
}

func initFlags(fs *pflag.FlagSet) {
	logsv1.AddFlags(logOptions, fs)
	fs.StringVar(&watchFilterValue, "watch-filter", "", "Label value that the controller watches to reconcile cluster-api objects.")
	fs.DurationVar(&syncPeriod, "sync-period", 10*time.Minute, "The minimum interval at which watched resources are reconciled.")
	fs.IntVar(&concurrency, "concurrency", 10, "The number of dev machines to process simultaneously.")
	fs.IntVar(&webhookPort, "webhook-port", 9443, "Webhook server port.")
	fs.StringVar(&webhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs/", "Webhook cert dir (tls.crt, tls.key).")
	fs.StringVar(&healthAddr, "health-addr", ":9440", "The address the health endpoint binds to.")
	fs.StringVar(&metricsAddr, "metrics-bind-addr", "0", "The address the metrics endpoint binds to (0 disables it).")
	fs.StringVar(&muxHost, "workload-cluster-host", "127.0.0.1", "Host the simulated workload-cluster API servers listen on (CAPD reads POD_IP).")
	fs.Int32Var(&muxMinPort, "workload-cluster-min-port", inmemoryserver.DefaultMinPort, "First port of the simulated workload-cluster API servers.")
	fs.Int32Var(&muxMaxPort, "workload-cluster-max-port", inmemoryserver.DefaultMaxPort, "Last port of the simulated workload-cluster API servers.")
	fs.Int32Var(&muxDebugPort, "workload-cluster-debug-port", inmemoryserver.DefaultDebugPort, "Port of the in-memory provider's debug server.")
	feature.MutableGates.AddFlag(fs)
}

func main() {
	initFlags(pflag.CommandLine)
	pflag.CommandLine.SetNormalizeFunc(cliflag.WordSepNormalizeFunc)
	pflag.CommandLine.AddGoFlagSet(flag.CommandLine)
	pflag.Parse()
	if err := logsv1.ValidateAndApply(logOptions, nil); err != nil {
		fmt.Printf("Unable to start manager: %v\n", err)
		os.Exit(1)
	}
	ctrl.SetLogger(klog.Background())

	restConfig := ctrl.GetConfigOrDie()
	restConfig.UserAgent = remote.DefaultClusterAPIUserAgent(controllerName)

	req, _ := labels.NewRequirement(clusterv1.ClusterNameLabel, selection.Exists, nil)
	clusterSecretCacheSelector := labels.NewSelector().Add(*req)

	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                 scheme,
		HealthProbeBindAddress: healthAddr,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		Cache: cache.Options{
			SyncPeriod: &syncPeriod,
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}: {Label: clusterSecretCacheSelector},
			},
		},
		Client: client.Options{
			Cache: &client.CacheOptions{
				DisableFor:   []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}},
				Unstructured: true,
			},
		},
		WebhookServer: webhook.NewServer(webhook.Options{Port: webhookPort, CertDir: webhookCertDir}),
	})
	if err != nil {
		setupLog.Error(err, "Unable to start manager")
		os.Exit(1)
	}

	ctx := ctrl.SetupSignalHandler()

	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		setupLog.Error(err, "Unable to create ready check")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		setupLog.Error(err, "Unable to create health check")
		os.Exit(1)
	}
	setupReconcilers(ctx, mgr)
	setupWebhooks(mgr)

	setupLog.Info("Starting manager")
	if err := mgr.Start(ctx); err != nil {
		setupLog.Error(err, "Problem running manager")
		os.Exit(1)
	}
}

func setupReconcilers(ctx context.Context, mgr ctrl.Manager) {
	secretCachingClient, err := client.New(mgr.GetConfig(), client.Options{
		HTTPClient: mgr.GetHTTPClient(),
		Cache:      &client.CacheOptions{Reader: mgr.GetCache()},
	})
	if err != nil {
		setupLog.Error(err, "Unable to create secret caching client")
		os.Exit(1)
	}

	runtimeClient, err := container.NewDockerClient()
	if err != nil {
		setupLog.Error(err, "Unable to create the (unused) container runtime client")
		os.Exit(1)
	}

	clusterCache, err := clustercache.SetupWithManager(ctx, mgr, clustercache.Options{
		SecretClient: secretCachingClient,
		Cache:        clustercache.CacheOptions{},
		Client: clustercache.ClientOptions{
			UserAgent: remote.DefaultClusterAPIUserAgent(controllerName),
			Cache: clustercache.ClientCacheOptions{
				DisableFor: []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}},
			},
		},
		WatchFilterValue: watchFilterValue,
	}, controller.Options{MaxConcurrentReconciles: concurrency})
	if err != nil {
		setupLog.Error(err, "Unable to create ClusterCache")
		os.Exit(1)
	}

	// The in-memory "cloud": machines, nodes, etcd members and API server pods of the workload
	// clusters live in this manager's resource groups.
	inMemoryManager := inmemoryruntime.NewManager(inmemoryScheme)
	if err := inMemoryManager.Start(ctx); err != nil {
		setupLog.Error(err, "Unable to start the in-memory manager")
		os.Exit(1)
	}

	// One listener per workload cluster in [min, max] on host, serving its API server and etcd.
	apiServerMux, err := inmemoryserver.NewWorkloadClustersMux(inMemoryManager, muxHost, inmemoryserver.CustomPorts{
		MinPort:   muxMinPort,
		MaxPort:   muxMaxPort,
		DebugPort: muxDebugPort,
	})
	if err != nil {
		setupLog.Error(err, "Unable to create workload clusters mux")
		os.Exit(1)
	}

	if err := (&controllers.DevMachineReconciler{
		Client:           mgr.GetClient(),
		WatchFilterValue: watchFilterValue,
		ContainerRuntime: runtimeClient,
		ClusterCache:     clusterCache,
		InMemoryManager:  inMemoryManager,
		APIServerMux:     apiServerMux,
	}).SetupWithManager(ctx, mgr, controller.Options{MaxConcurrentReconciles: concurrency}); err != nil {
		setupLog.Error(err, "Unable to create controller", "controller", "DevMachine")
		os.Exit(1)
	}
	if err := (&controllers.DevClusterReconciler{
		Client:           mgr.GetClient(),
		WatchFilterValue: watchFilterValue,
		ContainerRuntime: runtimeClient,
		InMemoryManager:  inMemoryManager,
		APIServerMux:     apiServerMux,
	}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
		setupLog.Error(err, "Unable to create controller", "controller", "DevCluster")
		os.Exit(1)
	}
	if err := (&controllers.DevMachineTemplateReconciler{
		Client:           mgr.GetClient(),
		ContainerRuntime: runtimeClient,
		WatchFilterValue: watchFilterValue,
	}).SetupWithManager(ctx, mgr, controller.Options{}); err != nil {
		setupLog.Error(err, "Unable to create controller", "controller", "DevMachineTemplate")
		os.Exit(1)
	}
}

func setupWebhooks(mgr ctrl.Manager) {
	if err := (&infrawebhooks.DevMachine{}).SetupWebhookWithManager(mgr); err != nil {
		setupLog.Error(err, "Unable to create webhook", "webhook", "DevMachine")
		os.Exit(1)
	}
	if err := (&infrawebhooks.DevMachineTemplate{}).SetupWebhookWithManager(mgr); err != nil {
		setupLog.Error(err, "Unable to create webhook", "webhook", "DevMachineTemplate")
		os.Exit(1)
	}
	if err := (&infrawebhooks.DevCluster{}).SetupWebhookWithManager(mgr); err != nil {
		setupLog.Error(err, "Unable to create webhook", "webhook", "DevCluster")
		os.Exit(1)
	}
	if err := (&infrawebhooks.DevClusterTemplate{}).SetupWebhookWithManager(mgr); err != nil {
		setupLog.Error(err, "Unable to create webhook", "webhook", "DevClusterTemplate")
		os.Exit(1)
	}
}
