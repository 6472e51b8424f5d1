package providers

import (
	"errors"
	"io"
	"net/http"
)

// setRequestBody makes body req's body so that neither req nor the
// transport keeps the bytes once they are sent. A bytes.Reader would: the
// request, which the transport holds until the answer ends, keeps it and
// the copy behind GetBody. A stream may run for minutes, and its prompt,
// often a whole conversation, is then the largest thing it holds.
//
// GetBody serves the transport's retries of a request no server saw; they
// happen inside Client.Do, so the returned forget, called once Do has
// returned, lets go of the copy kept for them.
func setRequestBody(req *http.Request, body []byte) (forget func()) {
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body, req.GetBody = http.NoBody, nil
		return func() {}
	}
	kept := &retryCopy{body: body}
	req.Body = &sentOnceBody{rest: body}
	req.GetBody = kept.open
	return kept.forget
}

// errBodyForgotten would only show if a transport asked to resend a
// request after its answer had begun.
var errBodyForgotten = errors.New("the request body was let go of after the answer began")

type retryCopy struct{ body []byte }

func (c *retryCopy) open() (io.ReadCloser, error) {
	if c.body == nil {
		return nil, errBodyForgotten
	}
	return &sentOnceBody{rest: c.body}, nil
}

func (c *retryCopy) forget() { c.body = nil }

// sentOnceBody reads its bytes once and drops them as it reaches the end.
// Close leaves them alone: a transport may close a body from another
// goroutine while a read is under way.
type sentOnceBody struct{ rest []byte }

func (b *sentOnceBody) Read(p []byte) (int, error) {
	if len(b.rest) == 0 {
		b.rest = nil
		return 0, io.EOF
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	if len(b.rest) == 0 {
		// An empty tail still points into the array and would keep it.
		b.rest = nil
	}
	return n, nil
}

func (b *sentOnceBody) Close() error { return nil }
