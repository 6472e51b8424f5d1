package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// serveRelay runs the smallest streaming relay Go's net/http allows: a
// server whose handler sends each request to upstream with an HTTP/2
// transport and copies the answer back, flushing after every read. It does
// nothing a gateway must do (no parsing, no routing, no logging), so what
// one open stream costs it is the floor under any proxy built on net/http,
// Caddy's included. bench/scale.sh runs it with TARGET=floor.
func serveRelay(listen, admin, upstream string, h2c bool) error {
	transport := &http.Transport{ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64, DisableCompression: true}
	target := "https://" + upstream + "/v1/chat/completions"
	relay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := transport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		flusher := http.NewResponseController(w)
		buf := make([]byte, 1024)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				if flusher.Flush() != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	// The admin side listens first: the script waits for the relay's port
	// and then reads the admin side at once.
	adminLn, err := net.Listen("tcp", admin)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	go func() {
		srv := &http.Server{Handler: relay, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: time.Minute}
		if h2c {
			srv.Protocols = new(http.Protocols)
			srv.Protocols.SetHTTP1(true)
			srv.Protocols.SetUnencryptedHTTP2(true)
		}
		_ = srv.Serve(ln)
	}()
	// The admin side answers what bench/scale reads of Caddy's admin
	// endpoint: the goroutine profile and the runtime's memory figures.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(w, "go_memstats_stack_inuse_bytes %d\ngo_memstats_heap_inuse_bytes %d\ngo_memstats_heap_idle_bytes %d\ngo_memstats_heap_released_bytes %d\ngo_memstats_sys_bytes %d\n",
			m.StackInuse, m.HeapInuse, m.HeapIdle, m.HeapReleased, m.Sys)
	})
	return http.Serve(adminLn, mux)
}
