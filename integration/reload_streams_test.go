package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/internal/testkit/faultupstream"
)

// TestReloadDuring50OpenStreams reloads the config while 50 streams are
// open, all held by the upstream after their fifth content chunk: every
// stream then completes on the old config with all 20 chunks in order,
// byte for byte as the upstream sent them; a new request uses the new
// config; and the old config's handler leaves no goroutine behind.
func TestReloadDuring50OpenStreams(t *testing.T) {
	const streams, chunks = 50, 20
	gate := faultupstream.NewGate(6) // the role chunk and 5 content chunks
	up := faultupstream.New(faultupstream.Options{Gate: gate,
		Plan: func(faultupstream.Request) faultupstream.Fault {
			return faultupstream.Fault{Interval: time.Millisecond}
		}})
	t.Cleanup(up.Close)
	route := "\t\tprovider up openai {\n\t\t\tbase_url " + up.URL + "/v1\n\t\t}\n\t\tmodel * up\n"
	startGateway(t, route)
	baseline := goroutineBaseline(t)

	type result struct {
		user   string
		status int
		body   []byte
		err    error
	}
	results := make(chan result, streams)
	client := freshHTTP()
	for i := range streams {
		user := "reload-" + strconv.Itoa(i)
		go func() {
			body := fmt.Sprintf(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":%d,"user":%q,"messages":[{"role":"user","content":"count"}]}`, chunks, user)
			resp, err := client.Post(gatewayURL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				results <- result{user: user, err: err}
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			results <- result{user, resp.StatusCode, got, err}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := gate.WaitHeld(ctx, streams); err != nil {
		t.Fatalf("the streams did not all open: %v", err)
	}

	startGateway(t, route+"\t\tprovider after mock {\n\t\t\treply \"after the reload\"\n\t\t}\n\t\tmodel after after\n")
	select {
	case r := <-results:
		t.Fatalf("a stream ended while the upstream held it: %d %v %s", r.status, r.err, r.body)
	default:
	}
	gate.Open()

	for range streams {
		var r result
		select {
		case r = <-results:
		case <-ctx.Done():
			t.Fatal("the streams did not finish after the reload")
		}
		recs, err := up.Settle(ctx, r.user)
		if r.err != nil || r.status != 200 || err != nil || len(recs) != 1 {
			t.Errorf("%s: status %d, %v; %d upstream requests, %v", r.user, r.status, r.err, len(recs), err)
			continue
		}
		if !bytes.Equal(r.body, recs[0].Sent) || !recs[0].Completed {
			t.Errorf("%s: the client got\n%s\nthe upstream sent\n%s", r.user, r.body, recs[0].Sent)
		}
		contents, err := faultupstream.StreamContents(r.body)
		if err != nil {
			t.Errorf("%s: %v", r.user, err)
		}
		for i, c := range contents {
			if c != strconv.Itoa(i+1) {
				t.Errorf("%s: chunk %d says %q: %v", r.user, i+1, c, contents)
				break
			}
		}
		if len(contents) != chunks {
			t.Errorf("%s: %d chunks, want %d", r.user, len(contents), chunks)
		}
	}

	after := httpPostJSON(t, gatewayURL+"/v1/chat/completions", `{"model":"after","messages":[{"role":"user","content":"x"}]}`)
	if !strings.Contains(after, "after the reload") {
		t.Errorf("a new request does not use the new config: %s", after)
	}
	checkNoLeaks(t, baseline, []*http.Client{client}, up.Server)
}
