package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hostfactoryv1 "hostfactory-k8s/test/api-clients/gen/hostfactory/v1"
)

// reopenBackoff is the wait before following a request again after its stream broke (the
// sidecar restarted, or a replica went away); each new stream starts with the status now, so
// nothing is missed meanwhile.
const reopenBackoff = time.Second

// follow streams a request's status with WatchRequest, calls show with each update, and returns
// the final one (COMPLETE or COMPLETE_WITH_ERROR). ctx bounds the whole wait.
func follow(ctx context.Context, client hostfactoryv1.ProviderServiceClient, requestID string, show func(*hostfactoryv1.Request)) (*hostfactoryv1.Request, error) {
	for {
		final, err := watchOnce(ctx, client, requestID, show)
		if err == nil {
			return final, nil
		}
		if status.Code(err) != codes.Unavailable {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("following %s: %w (last: %v)", requestID, ctx.Err(), err)
		case <-time.After(reopenBackoff):
		}
	}
}

func watchOnce(ctx context.Context, client hostfactoryv1.ProviderServiceClient, requestID string, show func(*hostfactoryv1.Request)) (*hostfactoryv1.Request, error) {
	stream, err := client.WatchRequest(ctx, &hostfactoryv1.WatchRequestRequest{RequestId: requestID})
	if err != nil {
		return nil, err
	}
	var last *hostfactoryv1.Request
	for {
		update, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if last == nil || last.GetStatus() == hostfactoryv1.RequestStatus_REQUEST_STATUS_RUNNING {
				return nil, status.Errorf(codes.Unavailable, "the stream of %s ended before a final status", requestID)
			}
			return last, nil
		}
		if err != nil {
			return nil, err
		}
		last = update.GetRequest()
		show(last)
	}
}
