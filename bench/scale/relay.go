package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/llmgateway/caddy-llm-gateway/bench/floorrelay"
)

// serveRelay runs the floor: a bare net/http server whose handler is
// floorrelay.Relay. What one open stream costs it is the floor under any
// proxy built on net/http, Caddy's included. bench/scale.sh runs it with
// TARGET=floor.
func serveRelay(listen, admin, upstream string, h2c bool) error {
	transport := floorrelay.NewTransport()
	target := "https://" + upstream + "/v1/chat/completions"
	relay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, err := floorrelay.Relay(w, r, transport, target); err != nil {
			http.Error(w, err.Error(), status)
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
