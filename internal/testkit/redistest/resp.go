package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// query sends one command on a fresh connection and reads the reply with
// read. A connection per command means no test can leave a half-read reply
// behind for the next, and a stopped server is seen at once.
func query(addr string, timeout time.Duration, args []string, read func(*bufio.Reader) (string, error)) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := conn.Write(encode(args)); err != nil {
		return "", err
	}
	return read(bufio.NewReader(conn))
}

// encode builds a RESP array of bulk strings, the form Redis expects from
// clients.
func encode(args []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.Bytes()
}

// readLine reads one CRLF-terminated line and returns it without the CRLF.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		return "", fmt.Errorf("reply line %q not terminated by CRLF", line)
	}
	return strings.TrimSuffix(line, "\r\n"), nil
}

// readBulk reads a bulk string reply and returns its payload.
func readBulk(r *bufio.Reader) (string, error) {
	head, err := readLine(r)
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimPrefix(head, "$"))
	if !strings.HasPrefix(head, "$") || err != nil || n < 0 {
		return "", fmt.Errorf("want a bulk string, got %q", head)
	}
	body := make([]byte, n+2) // payload and its CRLF
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	return string(body[:n]), nil
}

// serverPID asks the server at addr for its process id (INFO server).
func serverPID(addr string, timeout time.Duration) (int, error) {
	info, err := query(addr, timeout, []string{"INFO", "server"}, readBulk)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no process_id in INFO server reply")
}
