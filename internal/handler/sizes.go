package handler

import (
	"strings"

	"github.com/dustin/go-humanize"
)

// humanBytes writes sizes as /health reports them, the native API's way:
// 4.2GB.
func humanBytes(n int64) string {
	if n < 0 {
		n = 0
	}
	return strings.ReplaceAll(humanize.Bytes(uint64(n)), " ", "")
}
