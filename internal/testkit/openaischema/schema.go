package openaischema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// schema is one compiled schema object. Only the keywords that
// openai-schemas.json uses are represented; compile rejects the rest.
//
// Validation keywords implemented:
//   - type: a name or a list of names; "integer" is checked exactly on the
//     number's literal text, and "number" also accepts integers.
//   - nullable (OpenAPI 3.0, still used in this 3.1 document): null is
//     accepted in addition to whatever the other keywords allow.
//   - enum, properties, required, additionalProperties (boolean or schema),
//     items, anyOf, oneOf (exactly one branch must match).
//   - format: "date" and "uri" are asserted; "unixtime" and "float" add
//     nothing that type does not already check (the spec gives unixtime no
//     range, and a float's precision is not observable in JSON).
//   - $ref to "#/$defs/<Name>" and allOf, which responses-schemas.json
//     keeps; $recursiveRef "#" (its one use is a filter nesting itself)
//     stands for the definition it appears in, whose $recursiveAnchor is
//     then an annotation.
//   - minLength, maxLength, pattern, minimum, maximum, minItems, maxItems,
//     maxProperties and propertyNames.
//
// Annotation keywords ignored because they never make a value invalid:
//   - default: describes what the server assumes when a field is absent;
//     whether it may be absent is decided by required alone.
//   - deprecated: documentation only; deprecated fields are still valid.
//   - discriminator: oneOf alone decides validity, and every oneOf in the
//     file already tells its branches apart by an enum on the
//     discriminator property. Its propertyName is used only to pick which
//     failing branch to explain.
//   - description, title, example, examples, externalDocs, x-*: removed by
//     the extraction, but tolerated should a refreshed file keep them.
type schema struct {
	types         []string // empty: any type
	nullable      bool
	enum          []any // nil: no enum constraint
	format        string
	properties    map[string]*schema
	required      []string
	additional    *schema // schema for undeclared properties; nil: unconstrained
	noAdditional  bool    // additionalProperties: false
	items         *schema
	anyOf, oneOf  []*schema
	allOf         []*schema
	discriminator string

	// refName is a $ref's target in the file's $defs, recursive a
	// $recursiveRef; link sets ref to what either stands for.
	refName   string
	recursive bool
	ref       *schema

	minLength, maxLength *int
	minItems, maxItems   *int
	maxProperties        *int
	minimum, maximum     *big.Rat
	pattern              *regexp.Regexp
	propertyNames        *schema
}

// typeNames are the JSON Schema type names the validator understands.
var typeNames = map[string]bool{
	"null": true, "boolean": true, "object": true, "array": true,
	"number": true, "integer": true, "string": true,
}

// annotations are keywords that carry no constraint; see schema.
var annotations = map[string]bool{
	"default": true, "deprecated": true, "description": true, "title": true,
	"example": true, "examples": true, "externalDocs": true,
	"$recursiveAnchor": true,
}

// compileFile compiles every schema in the extract, plus the derived
// schema for streamed legacy completions.
func compileFile(data []byte) (map[string]*schema, error) {
	var file struct {
		Schemas map[string]any `json:"schemas"`
	}
	if err := decodeNumbers(data, &file); err != nil {
		return nil, fmt.Errorf("openaischema: decode openai-schemas.json: %w", err)
	}
	compiled := make(map[string]*schema, len(file.Schemas)+1)
	for _, name := range []string{ChatCompletion, ChatCompletionChunk, Completion, Embedding, ModelList, Model, Error} {
		raw, ok := file.Schemas[name]
		if !ok {
			return nil, fmt.Errorf("openaischema: openai-schemas.json has no schema %q", name)
		}
		s, err := compile(raw, name)
		if err != nil {
			return nil, fmt.Errorf("openaischema: %w", err)
		}
		compiled[name] = s
	}
	s, err := streamCompletionSchema(file.Schemas[Completion])
	if err != nil {
		return nil, fmt.Errorf("openaischema: %w", err)
	}
	compiled[completionChunk] = s
	return compiled, nil
}

// compileResponsesFile compiles the Responses API's extract, whose
// definitions sit under "$defs" and refer to each other.
func compileResponsesFile(data []byte) (map[string]*schema, error) {
	var file struct {
		Defs map[string]any `json:"$defs"`
	}
	if err := decodeNumbers(data, &file); err != nil {
		return nil, fmt.Errorf("openaischema: decode responses-schemas.json: %w", err)
	}
	schemas, err := compileDefs(file.Defs, []string{Response, ResponseStreamEvent, ResponseItemList})
	if err != nil {
		return nil, fmt.Errorf("openaischema: responses-schemas.json: %w", err)
	}
	return schemas, nil
}

// streamCompletionSchema derives the schema for one streamed legacy
// completion event. The spec documents no stream schema for /completions,
// and CreateCompletionResponse makes choices[].finish_reason a non-null
// string, yet OpenAI itself sends "finish_reason": null in every event but
// the last. Accepting null there, and changing nothing else, keeps the
// stream check as strict as the spec while passing OpenAI's own output.
func streamCompletionSchema(raw any) (*schema, error) {
	copied, err := deepCopy(raw)
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", Completion, err)
	}
	node := copied
	for _, key := range []string{"properties", "choices", "items", "properties", "finish_reason"} {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s has no choices[].finish_reason to make nullable", Completion)
		}
		node = m[key]
	}
	finish, ok := node.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s has no choices[].finish_reason to make nullable", Completion)
	}
	finish["nullable"] = true
	return compile(copied, completionChunk)
}

// deepCopy copies a decoded JSON value by re-encoding it, which is simple
// and only runs once per process.
func deepCopy(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = decodeNumbers(data, &out)
	return out, err
}

// decodeNumbers decodes data into v, keeping numbers as json.Number.
func decodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// compile turns a decoded schema object into a schema; at names its
// location for error messages, e.g. "Model/properties/id".
func compile(raw any, at string) (*schema, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: schema is %T, want an object", at, raw)
	}
	s := &schema{}
	for key, value := range m {
		if annotations[key] || strings.HasPrefix(key, "x-") {
			continue
		}
		if err := s.compileKeyword(key, value, at+"/"+key); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// compileKeyword records one keyword on s. Unknown keywords are errors so
// that a refreshed schema file cannot rely on something this validator
// would silently skip.
func (s *schema) compileKeyword(key string, value any, at string) error {
	var err error
	switch key {
	case "type":
		s.types, err = compileType(value, at)
	case "nullable":
		s.nullable, err = compileBool(value, at)
	case "enum":
		s.enum, err = compileEnum(value, at)
	case "format":
		s.format, err = compileFormat(value, at)
	case "properties":
		s.properties, err = compileProperties(value, at)
	case "required":
		s.required, err = compileStrings(value, at)
	case "additionalProperties":
		err = s.compileAdditional(value, at)
	case "items":
		s.items, err = compile(value, at)
	case "anyOf":
		s.anyOf, err = compileList(value, at)
	case "oneOf":
		s.oneOf, err = compileList(value, at)
	case "allOf":
		s.allOf, err = compileList(value, at)
	case "discriminator":
		s.discriminator, err = compileDiscriminator(value, at)
	case "$ref":
		s.refName, err = compileRef(value, at)
	case "$recursiveRef":
		s.recursive, err = value == "#", nil
		if !s.recursive {
			err = fmt.Errorf("%s: only \"#\" is supported", at)
		}
	case "minLength":
		s.minLength, err = compileCount(value, at)
	case "maxLength":
		s.maxLength, err = compileCount(value, at)
	case "minItems":
		s.minItems, err = compileCount(value, at)
	case "maxItems":
		s.maxItems, err = compileCount(value, at)
	case "maxProperties":
		s.maxProperties, err = compileCount(value, at)
	case "minimum":
		s.minimum, err = compileNumber(value, at)
	case "maximum":
		s.maximum, err = compileNumber(value, at)
	case "pattern":
		s.pattern, err = compilePattern(value, at)
	case "propertyNames":
		s.propertyNames, err = compile(value, at)
	default:
		err = fmt.Errorf("%s: unsupported keyword", at)
	}
	return err
}

// compileType accepts a type name or a list of them.
func compileType(value any, at string) ([]string, error) {
	var names []string
	if name, ok := value.(string); ok {
		names = []string{name}
	} else {
		var err error
		if names, err = compileStrings(value, at); err != nil {
			return nil, err
		}
	}
	for _, name := range names {
		if !typeNames[name] {
			return nil, fmt.Errorf("%s: unknown type %q", at, name)
		}
	}
	return names, nil
}

// compileBool reads a boolean keyword such as nullable.
func compileBool(value any, at string) (bool, error) {
	b, ok := value.(bool)
	if !ok {
		return false, fmt.Errorf("%s: got %T, want a boolean", at, value)
	}
	return b, nil
}

// compileEnum reads the allowed values; an empty list would reject
// everything, which is surely a broken extract.
func compileEnum(value any, at string) ([]any, error) {
	list, ok := value.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("%s: want a non-empty array", at)
	}
	return list, nil
}

// compileFormat accepts only the formats listed in formats, so that a new
// one gets a deliberate decision instead of being skipped.
func compileFormat(value any, at string) (string, error) {
	name, ok := value.(string)
	if !ok {
		return "", fmt.Errorf("%s: got %T, want a string", at, value)
	}
	if _, known := formats[name]; !known {
		return "", fmt.Errorf("%s: unsupported format %q", at, name)
	}
	return name, nil
}

// compileProperties compiles each property's schema.
func compileProperties(value any, at string) (map[string]*schema, error) {
	m, ok := value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: got %T, want an object", at, value)
	}
	props := make(map[string]*schema, len(m))
	for name, raw := range m {
		s, err := compile(raw, at+"/"+name)
		if err != nil {
			return nil, err
		}
		props[name] = s
	}
	return props, nil
}

// compileStrings reads an array of strings, as used by required.
func compileStrings(value any, at string) ([]string, error) {
	list, ok := value.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: got %T, want an array of strings", at, value)
	}
	out := make([]string, len(list))
	for i, item := range list {
		str, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: got %T, want a string", at, i, item)
		}
		out[i] = str
	}
	return out, nil
}

// compileAdditional handles both forms of additionalProperties: a boolean
// (false forbids undeclared properties) or a schema they must match.
func (s *schema) compileAdditional(value any, at string) error {
	if b, ok := value.(bool); ok {
		s.noAdditional = !b
		return nil
	}
	var err error
	s.additional, err = compile(value, at)
	return err
}

// compileList compiles the branches of anyOf or oneOf.
func compileList(value any, at string) ([]*schema, error) {
	list, ok := value.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("%s: want a non-empty array of schemas", at)
	}
	out := make([]*schema, len(list))
	for i, raw := range list {
		s, err := compile(raw, fmt.Sprintf("%s/%d", at, i))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// compileDiscriminator keeps only propertyName. A mapping would tie
// discriminator values to $ref names, which the extract has inlined away,
// so one appearing means the file needs a closer look.
func compileDiscriminator(value any, at string) (string, error) {
	m, ok := value.(map[string]any)
	if !ok {
		return "", fmt.Errorf("%s: got %T, want an object", at, value)
	}
	for key := range m {
		if key != "propertyName" {
			return "", fmt.Errorf("%s/%s: unsupported keyword", at, key)
		}
	}
	name, ok := m["propertyName"].(string)
	if !ok {
		return "", fmt.Errorf("%s: propertyName missing or not a string", at)
	}
	return name, nil
}

// compileRef reads a $ref, which the file writes as "#/$defs/<Name>".
func compileRef(value any, at string) (string, error) {
	ref, ok := value.(string)
	name, found := strings.CutPrefix(ref, "#/$defs/")
	if !ok || !found || name == "" {
		return "", fmt.Errorf("%s: got %v, want \"#/$defs/<Name>\"", at, value)
	}
	return name, nil
}

// compileCount reads a length or size bound, a non-negative integer.
func compileCount(value any, at string) (*int, error) {
	n, ok := value.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%s: got %T, want an integer", at, value)
	}
	i, err := strconv.Atoi(string(n))
	if err != nil || i < 0 {
		return nil, fmt.Errorf("%s: got %s, want a non-negative integer", at, n)
	}
	return &i, nil
}

// compileNumber reads a numeric bound exactly.
func compileNumber(value any, at string) (*big.Rat, error) {
	n, ok := value.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%s: got %T, want a number", at, value)
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return nil, fmt.Errorf("%s: got %s, want a number", at, n)
	}
	return r, nil
}

// compilePattern compiles a pattern. JSON Schema's patterns are ECMA 262
// regular expressions; those in the file use only what RE2 shares with
// them, and one that does not compile fails loading.
func compilePattern(value any, at string) (*regexp.Regexp, error) {
	p, ok := value.(string)
	if !ok {
		return nil, fmt.Errorf("%s: got %T, want a string", at, value)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", at, err)
	}
	return re, nil
}

// compileDefs compiles every definition of a file that keeps its $refs,
// links them, and returns the named roots.
func compileDefs(defs map[string]any, roots []string) (map[string]*schema, error) {
	compiled := make(map[string]*schema, len(defs))
	for name, raw := range defs {
		s, err := compile(raw, name)
		if err != nil {
			return nil, err
		}
		compiled[name] = s
	}
	for name, s := range compiled {
		if err := s.link(compiled, name); err != nil {
			return nil, err
		}
	}
	out := make(map[string]*schema, len(roots))
	for _, name := range roots {
		s, ok := compiled[name]
		if !ok {
			return nil, fmt.Errorf("no definition %q", name)
		}
		out[name] = s
	}
	return out, nil
}

// link points s's references, and those below it, at the definitions
// they name; def is the definition s belongs to, which $recursiveRef
// stands for.
func (s *schema) link(defs map[string]*schema, def string) error {
	switch {
	case s.refName != "":
		target, ok := defs[s.refName]
		if !ok {
			return fmt.Errorf("%s: $ref to missing definition %q", def, s.refName)
		}
		s.ref = target
	case s.recursive:
		s.ref = defs[def]
	}
	for _, child := range s.children() {
		if err := child.link(defs, def); err != nil {
			return err
		}
	}
	return nil
}

// children are the schemas written inside s.
func (s *schema) children() []*schema {
	var out []*schema
	for _, p := range s.properties {
		out = append(out, p)
	}
	for _, c := range []*schema{s.additional, s.items, s.propertyNames} {
		if c != nil {
			out = append(out, c)
		}
	}
	out = append(out, s.anyOf...)
	out = append(out, s.oneOf...)
	return append(out, s.allOf...)
}
