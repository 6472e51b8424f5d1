// Package pricing prices upstream calls exactly: prices are whole
// femtodollars per token and costs whole nanodollars, so that no float
// is ever rounded or accumulated on the way from a price list to a bill.
package pricing

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Rate is a price per token in femtodollars (1e-15 USD): $2.50 per
// million tokens is 2,500,000,000. Every price of a real price list,
// down to fractions of a cent per million tokens, is a whole number of
// them.
type Rate int64

// Nanodollars is an amount of money in 1e-9 USD: at most about 9.2
// billion dollars.
type Nanodollars int64

const (
	femtoPerUSD  = 1_000_000_000_000_000
	femtoPerNano = 1_000_000
)

// ParseUSDPerToken reads a price per token in USD, as a decimal number
// (2.5e-06, 0.0000025), exactly.
func ParseUSDPerToken(s string) (Rate, error) {
	return parseRate(s, femtoPerUSD)
}

// ParseUSDPerMillion reads a price per million tokens in USD (2.50),
// exactly.
func ParseUSDPerMillion(s string) (Rate, error) {
	return parseRate(s, femtoPerUSD/1_000_000)
}

var maxRate = new(big.Rat).SetInt64(1 << 62)

// parseRate reads the decimal s as USD per unit and turns it into
// femtodollars per token, unit being the femtodollars per token of one
// USD per unit. Finer fractions than a femtodollar round half up.
func parseRate(s string, unit int64) (Rate, error) {
	s = strings.TrimSpace(s)
	// big.Rat takes fractions (1/3) and hexadecimal too: a price is a
	// decimal.
	if s == "" || strings.Trim(s, "0123456789.eE+-") != "" {
		return 0, fmt.Errorf("invalid price %q: want a decimal number of USD", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("invalid price %q: want a decimal number of USD", s)
	}
	if r.Sign() < 0 {
		return 0, fmt.Errorf("invalid price %q: a price cannot be negative", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(unit))
	if r.Cmp(maxRate) > 0 {
		return 0, fmt.Errorf("invalid price %q: too large", s)
	}
	// Round half up: floor(r + 1/2).
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	return Rate(q.Int64()), nil
}

// String writes the rate in USD per million tokens.
func (r Rate) String() string {
	return formatFixed(int64(r), 9) // femtodollars per token = nanodollars per million
}

// String writes the amount in USD with as many decimals as it needs:
// 0.000184, 1.5, 0.
func (n Nanodollars) String() string {
	return formatFixed(int64(n), 9)
}

// USD is the amount as a float, for metrics, which are floats anyway.
func (n Nanodollars) USD() float64 {
	return float64(n) / 1e9
}

// formatFixed writes v / 10^decimals in decimal, without trailing zeros.
func formatFixed(v int64, decimals int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	digits := strconv.FormatUint(u, 10)
	if len(digits) <= decimals {
		digits = strings.Repeat("0", decimals-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-decimals], strings.TrimRight(digits[len(digits)-decimals:], "0")
	s := whole
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseUSD reads an amount of USD (a budget: 25, 0.50) exactly, to the
// nanodollar.
func ParseUSD(s string) (Nanodollars, error) {
	r, err := parseRate(s, 1_000_000_000)
	if err != nil {
		return 0, fmt.Errorf("invalid amount %q: want a decimal number of USD", strings.TrimSpace(s))
	}
	return Nanodollars(r), nil
}
