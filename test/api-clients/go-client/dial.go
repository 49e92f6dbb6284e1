package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// serviceConfig lets gRPC itself retry the calls that are safe to repeat: the reads, and
// WatchRequest before its first message. RequestMachines and RequestReturnMachines are left out:
// each call that reaches the sidecar records a new request, so a blind retry could ask twice.
const serviceConfig = `{
  "methodConfig": [{
    "name": [
      {"service": "hostfactory.v1.ProviderService", "method": "GetAvailableTemplates"},
      {"service": "hostfactory.v1.ProviderService", "method": "GetRequestStatus"},
      {"service": "hostfactory.v1.ProviderService", "method": "GetReturnRequests"},
      {"service": "hostfactory.v1.ProviderService", "method": "WatchRequest"}
    ],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.2s",
      "maxBackoff": "5s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// tlsFiles are the PEM files of a TLS connection; CA alone is server-authenticated TLS, with
// Cert and Key it is mutual TLS.
type tlsFiles struct {
	CA, Cert, Key, ServerName string
}

// dial connects to the sidecar at a `unix:///path` or `host:port` address. TCP needs TLS, as the
// sidecar's own --listen does, unless plainTCP says otherwise.
func dial(address string, files tlsFiles, plainTCP bool) (*grpc.ClientConn, error) {
	var creds credentials.TransportCredentials
	switch {
	case strings.HasPrefix(address, "unix:"):
		// A Unix socket is guarded by its file permissions; it carries no TLS.
		creds = insecure.NewCredentials()
	case files.CA != "":
		config, err := tlsConfig(files)
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(config)
	case plainTCP:
		creds = insecure.NewCredentials()
	default:
		return nil, fmt.Errorf("address %s is TCP: give --tls-ca (and --tls-cert/--tls-key for mutual TLS), or --insecure for a sidecar run with --insecure", address)
	}
	return grpc.NewClient(address,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(serviceConfig),
		// A call waits, within its deadline, for the sidecar to be reachable instead of failing
		// at once: a call that never left has recorded nothing, whatever it was.
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true)),
	)
}

func tlsConfig(files tlsFiles) (*tls.Config, error) {
	pem, err := os.ReadFile(files.CA)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", files.CA)
	}
	config := &tls.Config{RootCAs: roots, ServerName: files.ServerName, MinVersion: tls.VersionTLS12}
	if (files.Cert == "") != (files.Key == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if files.Cert != "" {
		pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		config.Certificates = []tls.Certificate{pair}
	}
	return config, nil
}
