// Command go-client is a HostFactory-style service written against the sidecar's gRPC contract
// alone, with code generated from proto/hostfactory/v1 by protoc-gen-go and protoc-gen-go-grpc.
// It checks the sidecar's health, requests machines of a template, follows the request with
// WatchRequest until it is final, then returns every machine it got and follows that return
// until the pods are gone. It is the proof that a client we did not write in TypeScript works.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	hostfactoryv1 "hostfactory-k8s/test/api-clients/gen/hostfactory/v1"
)

const (
	defaultAddress = "unix:///tmp/hostfactory-k8s.sock"
	// defaultCallTimeout is each unary call's deadline: above the 10 s for which the sidecar's
	// handlers retry a failing Kubernetes API before they answer UNAVAILABLE.
	defaultCallTimeout = 30 * time.Second
	// defaultTimeout bounds the whole run, pods' start and deletion included.
	defaultTimeout  = 10 * time.Minute
	providerService = "hostfactory.v1.ProviderService"

	exitRequestFailed = 1
	exitUsage         = 2
	exitCallFailed    = 3
)

type options struct {
	address     string
	template    string
	count       int
	rcAccount   string
	timeout     time.Duration
	callTimeout time.Duration
	tls         tlsFiles
	insecure    bool
}

var (
	// errRequestFailed is a request that ended COMPLETE_WITH_ERROR: the sidecar answered, the
	// cluster could not give what was asked.
	errRequestFailed = errors.New("request failed")
	// errBadInput is what the caller asked for and the sidecar does not offer.
	errBadInput = errors.New("bad input")
)

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-client: %v\n", err)
		os.Exit(exitUsage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.timeout)
	defer cancel()
	if err := run(ctx, opts, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "go-client: %v\n", err)
		if errors.Is(err, errRequestFailed) {
			os.Exit(exitRequestFailed)
		}
		if errors.Is(err, errBadInput) {
			os.Exit(exitUsage)
		}
		os.Exit(exitCallFailed)
	}
}

func parseFlags(args []string) (options, error) {
	var opts options
	flags := flag.NewFlagSet("go-client", flag.ContinueOnError)
	flags.StringVar(&opts.address, "address", defaultAddress, "the sidecar: unix:///path/to.sock or host:port")
	flags.StringVar(&opts.template, "template", "", "the template to request machines of (required)")
	flags.IntVar(&opts.count, "count", 1, "how many machines")
	flags.StringVar(&opts.rcAccount, "rc-account", "", "the Symphony consumer the machines are for")
	flags.DurationVar(&opts.timeout, "timeout", defaultTimeout, "bound on the whole run")
	flags.DurationVar(&opts.callTimeout, "call-timeout", defaultCallTimeout, "deadline of each unary call")
	flags.StringVar(&opts.tls.CA, "tls-ca", "", "CA bundle that the sidecar's certificate chains to (TLS over TCP)")
	flags.StringVar(&opts.tls.Cert, "tls-cert", "", "client certificate, for a sidecar that requires mutual TLS")
	flags.StringVar(&opts.tls.Key, "tls-key", "", "client certificate's key")
	flags.StringVar(&opts.tls.ServerName, "tls-server-name", "", "name to verify the sidecar's certificate against (default: the address's host)")
	flags.BoolVar(&opts.insecure, "insecure", false, "plain TCP, for a sidecar run with --insecure (never in production)")
	if err := flags.Parse(args); err != nil {
		return opts, err
	}
	if opts.template == "" {
		return opts, errors.New("--template is required")
	}
	if opts.count < 1 {
		return opts, fmt.Errorf("--count must be at least 1, found %d", opts.count)
	}
	return opts, nil
}

func run(ctx context.Context, opts options, out io.Writer) error {
	conn, err := dial(opts.address, opts.tls, opts.insecure)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadInput, err)
	}
	defer conn.Close()
	client := hostfactoryv1.NewProviderServiceClient(conn)
	unary := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, opts.callTimeout)
	}

	callCtx, cancel := unary()
	health, err := grpc_health_v1.NewHealthClient(conn).Check(callCtx,
		&grpc_health_v1.HealthCheckRequest{Service: providerService})
	cancel()
	if err != nil {
		return callError("Health/Check", err)
	}
	fmt.Fprintf(out, "%s is %s\n", providerService, health.GetStatus())

	callCtx, cancel = unary()
	templates, err := client.GetAvailableTemplates(callCtx, &hostfactoryv1.GetAvailableTemplatesRequest{})
	cancel()
	if err != nil {
		return callError("GetAvailableTemplates", err)
	}
	template := findTemplate(templates.GetTemplates(), opts.template)
	if template == nil {
		return fmt.Errorf("%w: template %s is not offered; the sidecar offers %s", errBadInput, opts.template, templateIDs(templates.GetTemplates()))
	}
	fmt.Fprintf(out, "template %s: %d of %d machines available, %s CPUs and %s MB each\n",
		template.GetTemplateId(), template.GetAvailableNumber(), template.GetMaxNumber(),
		template.GetAttributes()["ncpus"].GetValue(), template.GetAttributes()["nram"].GetValue())

	callCtx, cancel = unary()
	requested, err := client.RequestMachines(callCtx, &hostfactoryv1.RequestMachinesRequest{
		TemplateId: opts.template, MachineCount: int32(opts.count), RcAccount: opts.rcAccount,
	})
	cancel()
	if err != nil {
		return callError("RequestMachines", err)
	}
	fmt.Fprintf(out, "requested %d machines of %s: %s\n", opts.count, opts.template, requested.GetRequestId())

	created, err := follow(ctx, client, requested.GetRequestId(), progress(out, "ready"))
	if err != nil {
		return callError("WatchRequest", err)
	}
	var refs []*hostfactoryv1.MachineRef
	for _, machine := range created.GetMachines() {
		fmt.Fprintf(out, "  %s %s %s %s %s\n", machine.GetName(), orDash(machine.GetPrivateIpAddress()),
			stateWord(machine.GetStatus().String()), stateWord(machine.GetResult().String()), orDash(machine.GetMessage()))
		// Every machine that has a pod goes back, failed or not, so that nothing is left running.
		if machine.GetMachineId() != "" {
			refs = append(refs, &hostfactoryv1.MachineRef{Name: machine.GetName(), MachineId: machine.GetMachineId()})
		}
	}
	if len(refs) > 0 {
		callCtx, cancel = unary()
		returned, err := client.RequestReturnMachines(callCtx, &hostfactoryv1.RequestReturnMachinesRequest{Machines: refs})
		cancel()
		if err != nil {
			return callError("RequestReturnMachines", err)
		}
		fmt.Fprintf(out, "returning %d machines: %s\n", len(refs), returned.GetRequestId())
		done, err := follow(ctx, client, returned.GetRequestId(), progress(out, "gone"))
		if err != nil {
			return callError("WatchRequest", err)
		}
		if done.GetStatus() != hostfactoryv1.RequestStatus_REQUEST_STATUS_COMPLETE {
			return fmt.Errorf("%w: return %s ended %s: %s", errRequestFailed, done.GetRequestId(), stateWord(done.GetStatus().String()), done.GetMessage())
		}
	}
	if created.GetStatus() != hostfactoryv1.RequestStatus_REQUEST_STATUS_COMPLETE {
		return fmt.Errorf("%w: %s ended %s: %s", errRequestFailed, created.GetRequestId(), stateWord(created.GetStatus().String()), created.GetMessage())
	}
	return nil
}

// progress prints one line per update: the request's status and how many machines are done.
func progress(out io.Writer, done string) func(*hostfactoryv1.Request) {
	return func(request *hostfactoryv1.Request) {
		succeeded := 0
		for _, machine := range request.GetMachines() {
			if machine.GetResult() == hostfactoryv1.MachineResult_MACHINE_RESULT_SUCCEED {
				succeeded++
			}
		}
		fmt.Fprintf(out, "%s %s: %d of %d machines %s\n", request.GetRequestId(),
			stateWord(request.GetStatus().String()), succeeded, len(request.GetMachines()), done)
	}
}

// callError names the call and the gRPC status code, which says what the caller may do next.
func callError(method string, err error) error {
	if s, ok := status.FromError(err); ok {
		return fmt.Errorf("%s failed with %s: %s", method, s.Code(), s.Message())
	}
	return fmt.Errorf("%s failed: %w", method, err)
}

func findTemplate(templates []*hostfactoryv1.Template, id string) *hostfactoryv1.Template {
	for _, template := range templates {
		if template.GetTemplateId() == id {
			return template
		}
	}
	return nil
}

func templateIDs(templates []*hostfactoryv1.Template) string {
	ids := make([]string, 0, len(templates))
	for _, template := range templates {
		ids = append(ids, template.GetTemplateId())
	}
	return strings.Join(ids, ", ")
}

// stateWord turns an enum name such as REQUEST_STATUS_COMPLETE_WITH_ERROR into HostFactory's
// word for it (complete_with_error).
func stateWord(enumName string) string {
	for _, prefix := range []string{"REQUEST_STATUS_", "MACHINE_STATE_", "MACHINE_RESULT_"} {
		if rest, ok := strings.CutPrefix(enumName, prefix); ok {
			word := strings.ToLower(rest)
			if prefix == "MACHINE_STATE_" {
				return strings.ReplaceAll(word, "_", "-")
			}
			return word
		}
	}
	return strings.ToLower(enumName)
}

func orDash(value string) string {
	if value == "" {
		return "-"
	}
	return value
}
