package openaischema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// formats maps each supported format to its check; nil means the type
// check already covers it (see schema).
var formats = map[string]func(string) bool{
	"date":     isDate,
	"uri":      isURI,
	"unixtime": nil,
	"float":    nil,
}

// validate returns every violation of s by v, which sits at path.
func (s *schema) validate(v any, path string) []Violation {
	if v == nil && s.nullable {
		return nil
	}
	var vs []Violation
	if s.ref != nil {
		vs = s.ref.validate(v, path)
	}
	for _, part := range s.allOf {
		vs = append(vs, part.validate(v, path)...)
	}
	if !s.allowsType(v) {
		return append(vs, Violation{path, fmt.Sprintf("got %s, want %s", kindOf(v), s.typeList())})
	}
	vs = append(vs, s.checkEnum(v, path)...)
	vs = append(vs, s.checkFormat(v, path)...)
	switch x := v.(type) {
	case map[string]any:
		vs = append(vs, s.checkObject(x, path)...)
	case []any:
		vs = append(vs, s.checkArray(x, path)...)
	case string:
		vs = append(vs, s.checkString(x, path)...)
	case json.Number:
		vs = append(vs, s.checkRange(x, path)...)
	}
	vs = append(vs, s.checkAnyOf(v, path)...)
	vs = append(vs, s.checkOneOf(v, path)...)
	return vs
}

// allowsType reports whether v's JSON type is one s permits.
func (s *schema) allowsType(v any) bool {
	if len(s.types) == 0 && s.ref != nil {
		return s.ref.allowsType(v)
	}
	if len(s.types) == 0 || (v == nil && s.nullable) {
		return true
	}
	kind := kindOf(v)
	for _, t := range s.types {
		if t == kind || (t == "number" && kind == "integer") {
			return true
		}
	}
	return false
}

// typeList describes the permitted types for messages, e.g. "string or null".
func (s *schema) typeList() string {
	if len(s.types) == 0 && s.ref != nil {
		return s.ref.typeList()
	}
	types := s.types
	if s.nullable {
		types = append(slices.Clip(types), "null")
	}
	return strings.Join(types, " or ")
}

// kindOf names v's JSON type, reporting integral numbers as "integer".
func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if isInteger(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// isInteger reports whether n is mathematically an integer. Numbers
// without a fraction or exponent are decided from the text alone; others
// (1.0, 1e3) are parsed exactly, never through float64.
func isInteger(n json.Number) bool {
	if !strings.ContainsAny(string(n), ".eE") {
		return true
	}
	r, ok := new(big.Rat).SetString(string(n))
	return ok && r.IsInt()
}

// checkEnum requires v to equal one of the listed values.
func (s *schema) checkEnum(v any, path string) []Violation {
	if s.enum == nil || slices.ContainsFunc(s.enum, func(e any) bool { return jsonEqual(e, v) }) {
		return nil
	}
	want := make([]string, len(s.enum))
	for i, e := range s.enum {
		want[i] = render(e)
	}
	return []Violation{{path, fmt.Sprintf("got %s, want one of %s", render(v), strings.Join(want, ", "))}}
}

// checkFormat applies s's format to strings; formats only constrain
// strings, as in JSON Schema.
func (s *schema) checkFormat(v any, path string) []Violation {
	str, ok := v.(string)
	check := formats[s.format]
	if !ok || check == nil || check(str) {
		return nil
	}
	return []Violation{{path, fmt.Sprintf("got %s, want a %s", render(str), s.format)}}
}

// isDate accepts an RFC 3339 full-date such as 2025-01-31.
func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// isURI accepts an absolute URI, which is what format "uri" means (a
// relative reference would be "uri-reference").
func isURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != ""
}

// checkObject applies required, properties and additionalProperties.
// Keys are visited in sorted order so reports are stable.
func (s *schema) checkObject(obj map[string]any, path string) []Violation {
	var vs []Violation
	if s.maxProperties != nil && len(obj) > *s.maxProperties {
		vs = append(vs, Violation{path, fmt.Sprintf("has %d properties, want at most %d", len(obj), *s.maxProperties)})
	}
	for _, name := range s.required {
		if _, ok := obj[name]; !ok {
			vs = append(vs, Violation{childPath(path, name), "required property missing"})
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if s.propertyNames != nil {
			vs = append(vs, s.propertyNames.validate(k, childPath(path, k))...)
		}
		vs = append(vs, s.checkProperty(k, obj[k], childPath(path, k))...)
	}
	return vs
}

// checkProperty validates one member against its declared schema or, when
// undeclared, against additionalProperties.
func (s *schema) checkProperty(name string, v any, path string) []Violation {
	if prop, ok := s.properties[name]; ok {
		return prop.validate(v, path)
	}
	if s.noAdditional {
		return []Violation{{path, "property not allowed"}}
	}
	if s.additional != nil {
		return s.additional.validate(v, path)
	}
	return nil
}

// checkArray applies minItems and maxItems, and validates each element
// against items.
func (s *schema) checkArray(list []any, path string) []Violation {
	var vs []Violation
	if s.minItems != nil && len(list) < *s.minItems {
		vs = append(vs, Violation{path, fmt.Sprintf("has %d items, want at least %d", len(list), *s.minItems)})
	}
	if s.maxItems != nil && len(list) > *s.maxItems {
		vs = append(vs, Violation{path, fmt.Sprintf("has %d items, want at most %d", len(list), *s.maxItems)})
	}
	if s.items == nil {
		return vs
	}
	for i, item := range list {
		vs = append(vs, s.items.validate(item, fmt.Sprintf("%s[%d]", path, i))...)
	}
	return vs
}

// checkString applies minLength, maxLength (counted in code points, as
// JSON Schema counts) and pattern (anywhere in the string, unanchored).
func (s *schema) checkString(str string, path string) []Violation {
	var vs []Violation
	n := utf8.RuneCountInString(str)
	if s.minLength != nil && n < *s.minLength {
		vs = append(vs, Violation{path, fmt.Sprintf("is %d characters long, want at least %d", n, *s.minLength)})
	}
	if s.maxLength != nil && n > *s.maxLength {
		vs = append(vs, Violation{path, fmt.Sprintf("is %d characters long, want at most %d", n, *s.maxLength)})
	}
	if s.pattern != nil && !s.pattern.MatchString(str) {
		vs = append(vs, Violation{path, fmt.Sprintf("got %s, want a match of %s", render(str), s.pattern)})
	}
	return vs
}

// checkRange applies minimum and maximum, exactly.
func (s *schema) checkRange(n json.Number, path string) []Violation {
	r, ok := new(big.Rat).SetString(string(n))
	switch {
	case !ok:
		return nil
	case s.minimum != nil && r.Cmp(s.minimum) < 0:
		return []Violation{{path, fmt.Sprintf("got %s, want at least %s", n, s.minimum.RatString())}}
	case s.maximum != nil && r.Cmp(s.maximum) > 0:
		return []Violation{{path, fmt.Sprintf("got %s, want at most %s", n, s.maximum.RatString())}}
	}
	return nil
}

// checkAnyOf requires at least one branch to match.
func (s *schema) checkAnyOf(v any, path string) []Violation {
	if len(s.anyOf) == 0 {
		return nil
	}
	results := validateEach(s.anyOf, v, path)
	if slices.ContainsFunc(results, func(r []Violation) bool { return len(r) == 0 }) {
		return nil
	}
	return s.explain(s.anyOf, results, v, path)
}

// checkOneOf requires exactly one branch to match.
func (s *schema) checkOneOf(v any, path string) []Violation {
	if len(s.oneOf) == 0 {
		return nil
	}
	results := validateEach(s.oneOf, v, path)
	matched := 0
	for _, r := range results {
		if len(r) == 0 {
			matched++
		}
	}
	switch matched {
	case 0:
		return s.explain(s.oneOf, results, v, path)
	case 1:
		return nil
	default:
		return []Violation{{path, fmt.Sprintf("matches %d oneOf alternatives, want exactly one", matched)}}
	}
}

// validateEach validates v against every branch.
func validateEach(branches []*schema, v any, path string) [][]Violation {
	results := make([][]Violation, len(branches))
	for i, b := range branches {
		results[i] = b.validate(v, path)
	}
	return results
}

// explain reports why no branch matched, as precisely as it can: when only
// one branch was meant for v (by type, then by discriminator value), its
// own violations are the useful answer; "got X, want one of N
// alternatives" rarely is.
func (s *schema) explain(branches []*schema, results [][]Violation, v any, path string) []Violation {
	byType := candidates(branches, func(b *schema) bool { return b.allowsType(v) })
	if len(byType) == 0 {
		return []Violation{{path, fmt.Sprintf("got %s, want %s", kindOf(v), typeUnion(branches))}}
	}
	chosen := byType
	if tag, ok := discriminatorValue(s.discriminator, v); ok {
		chosen = candidates(branches, func(b *schema) bool { return b.allowsType(v) && b.tagAllows(s.discriminator, tag) })
		if len(chosen) == 0 {
			return []Violation{{childPath(path, s.discriminator), fmt.Sprintf("got %s, which no alternative accepts", render(tag))}}
		}
	}
	if len(chosen) == 1 {
		return results[chosen[0]]
	}
	return []Violation{{path, noneMatched(chosen, results)}}
}

// candidates returns the indexes of the branches that keep says to keep.
func candidates(branches []*schema, keep func(*schema) bool) []int {
	var out []int
	for i, b := range branches {
		if keep(b) {
			out = append(out, i)
		}
	}
	return out
}

// typeUnion lists every type that any branch allows, for messages.
func typeUnion(branches []*schema) string {
	var types []string
	for _, b := range branches {
		list := b.typeList()
		if list == "" {
			return "any type"
		}
		for _, t := range strings.Split(list, " or ") {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	return strings.Join(types, " or ")
}

// discriminatorValue returns v's discriminator property, if it has one.
func discriminatorValue(prop string, v any) (any, bool) {
	obj, ok := v.(map[string]any)
	if prop == "" || !ok {
		return nil, false
	}
	tag, ok := obj[prop]
	return tag, ok
}

// tagAllows reports whether the branch accepts tag as its discriminator
// value; a branch that does not constrain the property accepts anything.
func (s *schema) tagAllows(prop string, tag any) bool {
	if s.ref != nil {
		return s.ref.tagAllows(prop, tag)
	}
	p, ok := s.properties[prop]
	if !ok || p.enum == nil {
		return true
	}
	return slices.ContainsFunc(p.enum, func(e any) bool { return jsonEqual(e, tag) })
}

// noneMatched summarises several plausible branches by their first
// violation each.
func noneMatched(chosen []int, results [][]Violation) string {
	parts := make([]string, len(chosen))
	for i, c := range chosen {
		parts[i] = fmt.Sprintf("alternative %d: %s", c+1, results[c][0])
	}
	return "matches none of the alternatives (" + strings.Join(parts, "; ") + ")"
}

// jsonEqual compares decoded JSON values, numbers by value so that 1 and
// 1.0 are equal as JSON Schema requires.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numbersEqual(x, y)
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, jsonEqual)
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && mapsEqual(x, y)
	default:
		return a == b
	}
}

// numbersEqual compares two JSON numbers exactly.
func numbersEqual(a, b json.Number) bool {
	x, okx := new(big.Rat).SetString(string(a))
	y, oky := new(big.Rat).SetString(string(b))
	return okx && oky && x.Cmp(y) == 0
}

// mapsEqual compares two JSON objects member by member.
func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !jsonEqual(av, bv) {
			return false
		}
	}
	return true
}

// childPath appends a member name to a JSON path, bracket-quoting names
// that are not plain identifiers (e.g. moderation categories like
// "self-harm/intent").
func childPath(path, name string) string {
	if isIdentifier(name) {
		return path + "." + name
	}
	return path + "[" + strconv.Quote(name) + "]"
}

// isIdentifier reports whether name can follow a dot in a JSON path.
func isIdentifier(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// render shows a value in a message as compact JSON, shortened so that a
// large wrong value does not bury the report.
func render(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const limit = 60
	if len(data) > limit {
		return string(data[:limit]) + "..."
	}
	return string(data)
}
