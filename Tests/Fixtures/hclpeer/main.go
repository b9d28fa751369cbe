// Command hclpeer evaluates a table of HCL cases with HashiCorp's own HCL (hclsyntax, the
// JSON syntax) and cty's standard functions, so Kiln's HCL can be compared with the
// reference row by row (Tests/KilnHCLTests/HCLPeerConformanceTests.swift).
//
// Usage: hclpeer CASES.json, where the file is a JSON array of
//
//	{"kind": "expr" | "template" | "jsonexpr" | "body" | "jsonbody" | "fmt", "source": "...",
//	 "vars": {"name": {"type": <cty JSON type>, "value": <cty JSON value>}}}
//
// It prints a JSON array with, per case, {"value": "...", "type": "...", "diagnostics":
// [{"summary", "line", "column", "byte"}]}: the value in a canonical text both sides
// produce (numbers as cty prints them), or for a body a dump of its attributes and blocks
// (for a JSON body, its attributes; for "fmt", hclwrite.Format's output, as `packer fmt`
// writes it).
//
// The functions are cty's stdlib ones Packer exposes, plus small equivalents of the few
// Packer takes from Terraform (length, index, coalesce, replace, base64, urlencode, ...).
package main

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"github.com/zclconf/go-cty/cty/gocty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/encoding/ianaindex"
)

type variable struct {
	Type  json.RawMessage `json:"type"`
	Value json.RawMessage `json:"value"`
}

type testCase struct {
	Kind   string              `json:"kind"`
	Source string              `json:"source"`
	Vars   map[string]variable `json:"vars"`
}

type diagnostic struct {
	Summary string `json:"summary"`
	Detail  string `json:"detail"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Byte    int    `json:"byte"`
}

type result struct {
	Value       string       `json:"value"`
	Type        string       `json:"type"`
	Diagnostics []diagnostic `json:"diagnostics"`
}

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var cases []testCase
	if err := json.Unmarshal(data, &cases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	results := make([]result, 0, len(cases))
	for _, c := range cases {
		results = append(results, run(c))
	}
	out, _ := json.Marshal(results)
	os.Stdout.Write(out)
}

func run(c testCase) (res result) {
	defer func() {
		if r := recover(); r != nil {
			res = result{Value: "PANIC", Diagnostics: []diagnostic{{Summary: fmt.Sprint(r)}}}
		}
	}()
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: functions()}
	for name, v := range c.Vars {
		ty, err := ctyjson.UnmarshalType(v.Type)
		if err != nil {
			panic(err)
		}
		val, err := ctyjson.Unmarshal(v.Value, ty)
		if err != nil {
			panic(err)
		}
		ctx.Variables[name] = val
	}
	src := []byte(c.Source)
	var diags hcl.Diagnostics
	switch c.Kind {
	case "expr", "template", "jsonexpr":
		var expr hcl.Expression
		switch c.Kind {
		case "expr":
			expr, diags = hclsyntax.ParseExpression(src, "test.hcl", hcl.Pos{Line: 1, Column: 1})
		case "template":
			expr, diags = hclsyntax.ParseTemplate(src, "test.hcl", hcl.Pos{Line: 1, Column: 1})
		default:
			expr, diags = hcljson.ParseExpression(src, "test.hcl")
		}
		if !diags.HasErrors() {
			val, more := expr.Value(ctx)
			diags = append(diags, more...)
			if !diags.HasErrors() {
				res.Value = render(val)
				res.Type = typeString(val.Type())
			}
		}
	case "body":
		file, parseDiags := hclsyntax.ParseConfig(src, "test.hcl", hcl.Pos{Line: 1, Column: 1})
		diags = parseDiags
		if !diags.HasErrors() {
			dump, more := dumpBody(file.Body.(*hclsyntax.Body), ctx)
			diags = append(diags, more...)
			if !diags.HasErrors() {
				res.Value = dump
			}
		}
	case "fmt":
		// What `packer fmt` does with a file: parse it (errors are reported, nothing is
		// formatted), then hclwrite.Format.
		_, diags = hclsyntax.ParseConfig(src, "test.hcl", hcl.Pos{Line: 1, Column: 1})
		if !diags.HasErrors() {
			res.Value = string(hclwrite.Format(src))
		}
	case "jsonbody":
		file, parseDiags := hcljson.Parse(src, "test.hcl")
		diags = parseDiags
		if !diags.HasErrors() {
			attrs, more := file.Body.JustAttributes()
			diags = append(diags, more...)
			names := make([]string, 0, len(attrs))
			for name := range attrs {
				names = append(names, name)
			}
			sort.Strings(names)
			var b strings.Builder
			b.WriteString("{")
			for _, name := range names {
				val, more := attrs[name].Expr.Value(ctx)
				diags = append(diags, more...)
				b.WriteString(name + "=" + render(val) + ":" + typeString(val.Type()) + ";")
			}
			b.WriteString("}")
			if !diags.HasErrors() {
				res.Value = b.String()
			}
		}
	default:
		panic("unknown kind " + c.Kind)
	}
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		out := diagnostic{Summary: d.Summary, Detail: d.Detail}
		if d.Subject != nil {
			out.Line, out.Column, out.Byte = d.Subject.Start.Line, d.Subject.Start.Column, d.Subject.Start.Byte
		}
		res.Diagnostics = append(res.Diagnostics, out)
	}
	return res
}

// dumpBody renders attributes (sorted by name, with values) then blocks, in order.
func dumpBody(body *hclsyntax.Body, ctx *hcl.EvalContext) (string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var b strings.Builder
	names := make([]string, 0, len(body.Attributes))
	for name := range body.Attributes {
		names = append(names, name)
	}
	sort.Strings(names)
	b.WriteString("{")
	for _, name := range names {
		val, more := body.Attributes[name].Expr.Value(ctx)
		diags = append(diags, more...)
		b.WriteString(name + "=" + render(val) + ":" + typeString(val.Type()) + ";")
	}
	for _, block := range body.Blocks {
		b.WriteString("block " + block.Type)
		for _, label := range block.Labels {
			b.WriteString(" " + quote(label))
		}
		inner, more := dumpBody(block.Body, ctx)
		diags = append(diags, more...)
		b.WriteString(" " + inner + ";")
	}
	b.WriteString("}")
	return b.String(), diags
}

// quote: double quotes, with backslash, quote and control characters escaped as \u00XX.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func render(v cty.Value) string {
	if !v.IsKnown() {
		return "?"
	}
	if v.IsNull() {
		return "null"
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return quote(v.AsString())
	case ty == cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case ty == cty.Bool:
		if v.True() {
			return "true"
		}
		return "false"
	case ty.IsListType() || ty.IsSetType() || ty.IsTupleType():
		kind := "list"
		if ty.IsSetType() {
			kind = "set"
		} else if ty.IsTupleType() {
			kind = "tuple"
		}
		parts := []string{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			parts = append(parts, render(e))
		}
		return kind + "[" + strings.Join(parts, ",") + "]"
	case ty.IsMapType() || ty.IsObjectType():
		kind := "map"
		if ty.IsObjectType() {
			kind = "object"
		}
		parts := []string{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			parts = append(parts, quote(k.AsString())+":"+render(e))
		}
		return kind + "{" + strings.Join(parts, ",") + "}"
	}
	return "unsupported"
}

func typeString(t cty.Type) string {
	switch {
	case t == cty.DynamicPseudoType:
		return "dynamic"
	case t == cty.String:
		return "string"
	case t == cty.Number:
		return "number"
	case t == cty.Bool:
		return "bool"
	case t.IsListType():
		return "list(" + typeString(t.ElementType()) + ")"
	case t.IsSetType():
		return "set(" + typeString(t.ElementType()) + ")"
	case t.IsMapType():
		return "map(" + typeString(t.ElementType()) + ")"
	case t.IsTupleType():
		parts := []string{}
		for _, e := range t.TupleElementTypes() {
			parts = append(parts, typeString(e))
		}
		return "tuple([" + strings.Join(parts, ",") + "])"
	case t.IsObjectType():
		names := []string{}
		for n := range t.AttributeTypes() {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := []string{}
		for _, n := range names {
			parts = append(parts, n+"="+typeString(t.AttributeType(n)))
		}
		return "object({" + strings.Join(parts, ",") + "})"
	}
	return "unsupported"
}

func functions() map[string]function.Function {
	return map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "alltrue": allTrue, "anytrue": anyTrue, "base64decode": base64Decode,
		"base64encode": base64Encode, "can": tryfunc.CanFunc, "ceil": stdlib.CeilFunc, "chomp": stdlib.ChompFunc,
		"chunklist": stdlib.ChunklistFunc, "coalesce": coalesce, "coalescelist": stdlib.CoalesceListFunc,
		"compact": stdlib.CompactFunc, "concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc,
		"csvdecode": stdlib.CSVDecodeFunc, "distinct": stdlib.DistinctFunc, "element": stdlib.ElementFunc,
		"endswith": endsWith, "flatten": stdlib.FlattenFunc, "floor": stdlib.FloorFunc, "format": stdlib.FormatFunc,
		"formatlist": stdlib.FormatListFunc, "indent": stdlib.IndentFunc, "index": index, "join": stdlib.JoinFunc,
		"jsondecode": stdlib.JSONDecodeFunc, "jsonencode": stdlib.JSONEncodeFunc, "keys": stdlib.KeysFunc,
		"length": length, "log": stdlib.LogFunc, "lookup": stdlib.LookupFunc, "lower": stdlib.LowerFunc,
		"max": stdlib.MaxFunc, "merge": stdlib.MergeFunc, "min": stdlib.MinFunc, "parseint": stdlib.ParseIntFunc,
		"pow": stdlib.PowFunc, "range": stdlib.RangeFunc, "regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc,
		"regex_replace": stdlib.RegexReplaceFunc, "replace": replace, "reverse": stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc, "setproduct": stdlib.SetProductFunc,
		"setsubtract": stdlib.SetSubtractFunc, "setunion": stdlib.SetUnionFunc, "signum": stdlib.SignumFunc,
		"slice": stdlib.SliceFunc, "sort": stdlib.SortFunc, "split": stdlib.SplitFunc, "startswith": startsWith,
		"strcontains": strContains, "strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc, "sum": sum,
		"title": stdlib.TitleFunc, "trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc,
		"trimspace": stdlib.TrimSpaceFunc, "trimsuffix": stdlib.TrimSuffixFunc, "try": tryfunc.TryFunc,
		"upper": stdlib.UpperFunc, "urldecode": urlDecode, "urlencode": urlEncode, "values": stdlib.ValuesFunc,
		"zipmap": stdlib.ZipmapFunc,
		"tostring": stdlib.MakeToFunc(cty.String), "tonumber": stdlib.MakeToFunc(cty.Number),
		"tobool": stdlib.MakeToFunc(cty.Bool), "toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)), "tomap": stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		// Packer's own functions that cty, HCL or Go's libraries provide.
		"formatdate": stdlib.FormatDateFunc, "timeadd": stdlib.TimeAddFunc, "convert": typeexpr.ConvertFunc,
		"md5": hashFunc(func(b []byte) []byte { s := md5.Sum(b); return s[:] }),
		"sha1": hashFunc(func(b []byte) []byte { s := sha1.Sum(b); return s[:] }),
		"sha256": hashFunc(func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }),
		"sha512": hashFunc(func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }),
		"textencodebase64": textEncodeBase64, "textdecodebase64": textDecodeBase64,
		// Packer's clock functions, on the run's clock fixed at 2021-04-19T07:44:12.5Z (the
		// rows' PackerFunctionContext), formatted by Go's time package as Packer does.
		"timestamp": function.New(&function.Spec{Type: function.StaticReturnType(cty.String),
			Impl: func([]cty.Value, cty.Type) (cty.Value, error) { return cty.StringVal(peerNow.Format(time.RFC3339)), nil }}),
		"legacy_isotime": stringFunc([]string{"format"}, cty.String, func(a []string) (cty.Value, error) {
			return cty.StringVal(peerNow.Format(a[0])), nil
		}),
		"rfc3339_parse": stringFunc([]string{"timestamp"}, cty.DynamicPseudoType, func(a []string) (cty.Value, error) {
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00"} {
				if t, err := time.Parse(layout, a[0]); err == nil {
					fields := timeFields(t)
					fields["unix"] = cty.NumberIntVal(t.Unix())
					return cty.ObjectVal(fields), nil
				}
			}
			return cty.NilVal, function.NewArgErrorf(0, "%q is not a valid RFC3339 timestamp", a[0])
		}),
		"unix_timestamp_parse": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "unix_timestamp", Type: cty.Number}},
			Type:   function.StaticReturnType(cty.DynamicPseudoType),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				var seconds int64
				if err := gocty.FromCtyValue(args[0], &seconds); err != nil {
					return cty.NilVal, function.NewArgErrorf(0, "unix_timestamp must be a whole number of seconds representable as a 64-bit integer: %s", err)
				}
				t := time.Unix(seconds, 0).UTC()
				fields := timeFields(t)
				fields["rfc3339"] = cty.StringVal(t.Format(time.RFC3339))
				return cty.ObjectVal(fields), nil
			},
		}),
		// Not Packer's: checks a bcrypt hash Kiln made with x/crypto's bcrypt.
		"bcrypt_matches": stringFunc([]string{"hash", "password"}, cty.Bool, func(a []string) (cty.Value, error) {
			return cty.BoolVal(bcrypt.CompareHashAndPassword([]byte(a[0]), []byte(a[1])) == nil), nil
		}),
	}
}

var peerNow = time.Unix(1618818252, 500000000).UTC()

func timeFields(t time.Time) map[string]cty.Value {
	isoYear, isoWeek := t.ISOWeek()
	return map[string]cty.Value{
		"year": cty.NumberIntVal(int64(t.Year())), "year_day": cty.NumberIntVal(int64(t.YearDay())),
		"day": cty.NumberIntVal(int64(t.Day())), "month": cty.NumberIntVal(int64(t.Month())),
		"month_name": cty.StringVal(t.Month().String()), "weekday": cty.NumberIntVal(int64(t.Weekday())),
		"weekday_name": cty.StringVal(t.Weekday().String()), "hour": cty.NumberIntVal(int64(t.Hour())),
		"minute": cty.NumberIntVal(int64(t.Minute())), "second": cty.NumberIntVal(int64(t.Second())),
		"iso_year": cty.NumberIntVal(int64(isoYear)), "iso_week": cty.NumberIntVal(int64(isoWeek)),
	}
}

func hashFunc(sum func([]byte) []byte) function.Function {
	return stringFunc([]string{"str"}, cty.String, func(a []string) (cty.Value, error) {
		return cty.StringVal(hex.EncodeToString(sum([]byte(a[0])))), nil
	})
}

// textEncodeBase64 and textDecodeBase64: Packer's, over x/text's IANA index.
var textEncodeBase64 = stringFunc([]string{"string", "encoding"}, cty.String, func(a []string) (cty.Value, error) {
	enc, err := ianaindex.IANA.Encoding(a[1])
	if err != nil || enc == nil {
		return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "%q is not a supported IANA encoding name or alias", a[1])
	}
	name, err := ianaindex.IANA.Name(enc)
	if err != nil {
		name = a[1]
	}
	out, err := enc.NewEncoder().Bytes([]byte(a[0]))
	if err != nil {
		return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "the given string contains characters that cannot be represented in %s", name)
	}
	return cty.StringVal(base64.StdEncoding.EncodeToString(out)), nil
})

var textDecodeBase64 = stringFunc([]string{"source", "encoding"}, cty.String, func(a []string) (cty.Value, error) {
	enc, err := ianaindex.IANA.Encoding(a[1])
	if err != nil || enc == nil {
		return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "%q is not a supported IANA encoding name or alias", a[1])
	}
	raw, err := base64.StdEncoding.DecodeString(a[0])
	if err != nil {
		return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "the given value is has an invalid base64 symbol")
	}
	out, err := enc.NewDecoder().Bytes(raw)
	if err != nil {
		return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "the given string contains symbols that are not defined")
	}
	return cty.StringVal(string(out)), nil
})

func stringFunc(params []string, ret cty.Type, impl func([]string) (cty.Value, error)) function.Function {
	ps := make([]function.Parameter, len(params))
	for i, n := range params {
		ps[i] = function.Parameter{Name: n, Type: cty.String}
	}
	return function.New(&function.Spec{
		Params: ps,
		Type:   function.StaticReturnType(ret),
		Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
			ss := make([]string, len(args))
			for i, a := range args {
				ss[i] = a.AsString()
			}
			return impl(ss)
		},
	})
}

var base64Encode = stringFunc([]string{"str"}, cty.String, func(s []string) (cty.Value, error) {
	return cty.StringVal(base64.StdEncoding.EncodeToString([]byte(s[0]))), nil
})

var base64Decode = stringFunc([]string{"str"}, cty.String, func(s []string) (cty.Value, error) {
	b, err := base64.StdEncoding.DecodeString(s[0])
	if err != nil {
		return cty.UnknownVal(cty.String), fmt.Errorf("failed to decode base64 data '%s'", s[0])
	}
	if !utf8.Valid(b) {
		return cty.UnknownVal(cty.String), fmt.Errorf("the result of decoding the provided string is not valid UTF-8")
	}
	return cty.StringVal(string(b)), nil
})

var urlEncode = stringFunc([]string{"str"}, cty.String, func(s []string) (cty.Value, error) {
	return cty.StringVal(url.QueryEscape(s[0])), nil
})

var urlDecode = stringFunc([]string{"str"}, cty.String, func(s []string) (cty.Value, error) {
	r, err := url.QueryUnescape(s[0])
	if err != nil {
		return cty.UnknownVal(cty.String), err
	}
	return cty.StringVal(r), nil
})

var startsWith = stringFunc([]string{"str", "prefix"}, cty.Bool, func(s []string) (cty.Value, error) {
	return cty.BoolVal(strings.HasPrefix(s[0], s[1])), nil
})

var endsWith = stringFunc([]string{"str", "suffix"}, cty.Bool, func(s []string) (cty.Value, error) {
	return cty.BoolVal(strings.HasSuffix(s[0], s[1])), nil
})

var strContains = stringFunc([]string{"str", "substr"}, cty.Bool, func(s []string) (cty.Value, error) {
	return cty.BoolVal(strings.Contains(s[0], s[1])), nil
})

// replace is Terraform's: a /regex/ substring is a regular expression.
var replace = stringFunc([]string{"str", "substr", "replace"}, cty.String, func(s []string) (cty.Value, error) {
	if len(s[1]) > 1 && s[1][0] == '/' && s[1][len(s[1])-1] == '/' {
		re, err := regexp.Compile(s[1][1 : len(s[1])-1])
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		return cty.StringVal(re.ReplaceAllString(s[0], s[2])), nil
	}
	return cty.StringVal(strings.Replace(s[0], s[1], s[2], -1)), nil
})

func boolListFunc(all bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
			for it := args[0].ElementIterator(); it.Next(); {
				_, v := it.Element()
				if !v.IsKnown() {
					return cty.UnknownVal(cty.Bool), nil
				}
				if all && (v.IsNull() || v.False()) {
					return cty.False, nil
				}
				if !all && !v.IsNull() && v.True() {
					return cty.True, nil
				}
			}
			return cty.BoolVal(all), nil
		},
	})
}

var allTrue = boolListFunc(true)
var anyTrue = boolListFunc(false)

var length = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true}},
	Type: func(args []cty.Value) (cty.Type, error) {
		t := args[0].Type()
		if t == cty.String || t.IsTupleType() || t.IsObjectType() || t.IsListType() || t.IsMapType() || t.IsSetType() || t == cty.DynamicPseudoType {
			return cty.Number, nil
		}
		return cty.Number, errors.New("argument must be a string, a collection type, or a structural type")
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		v := args[0]
		t := v.Type()
		switch {
		case t == cty.DynamicPseudoType:
			return cty.UnknownVal(cty.Number), nil
		case t.IsTupleType():
			return cty.NumberIntVal(int64(len(t.TupleElementTypes()))), nil
		case t.IsObjectType():
			return cty.NumberIntVal(int64(len(t.AttributeTypes()))), nil
		case t == cty.String:
			return stdlib.Strlen(v)
		default:
			return v.Length(), nil
		}
	},
})

var index = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}, {Name: "value", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		if !(args[0].Type().IsListType() || args[0].Type().IsTupleType()) {
			return cty.NilVal, errors.New("argument must be a list or tuple")
		}
		if args[0].LengthInt() == 0 {
			return cty.NilVal, errors.New("cannot search an empty list")
		}
		for it := args[0].ElementIterator(); it.Next(); {
			i, v := it.Element()
			eq, err := stdlib.Equal(v, args[1])
			if err != nil {
				return cty.NilVal, err
			}
			if !eq.IsKnown() {
				return cty.UnknownVal(cty.Number), nil
			}
			if eq.True() {
				return i, nil
			}
		}
		return cty.NilVal, errors.New("item not found")
	},
})

var coalesce = function.New(&function.Spec{
	VarParam: &function.Parameter{Name: "vals", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowDynamicType: true, AllowNull: true},
	Type: func(args []cty.Value) (cty.Type, error) {
		types := make([]cty.Type, len(args))
		for i, v := range args {
			types[i] = v.Type()
		}
		ret, _ := convert.UnifyUnsafe(types)
		if ret == cty.NilType {
			return cty.NilType, errors.New("all arguments must have the same type")
		}
		return ret, nil
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		for _, v := range args {
			v, _ = convert.Convert(v, retType)
			if !v.IsKnown() {
				return cty.UnknownVal(retType), nil
			}
			if v.IsNull() {
				continue
			}
			if retType == cty.String && v.RawEquals(cty.StringVal("")) {
				continue
			}
			return v, nil
		}
		return cty.NilVal, errors.New("no non-null, non-empty-string arguments")
	},
})

var sum = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		if !args[0].CanIterateElements() {
			return cty.NilVal, errors.New("cannot sum noniterable")
		}
		if args[0].LengthInt() == 0 {
			return cty.NilVal, errors.New("cannot sum an empty list")
		}
		t := args[0].Type()
		if !t.IsListType() && !t.IsSetType() && !t.IsTupleType() {
			return cty.NilVal, errors.New("argument must be list, set, or tuple. Received " + t.FriendlyName())
		}
		total := cty.NilVal
		for it := args[0].ElementIterator(); it.Next(); {
			_, v := it.Element()
			if v.IsNull() {
				return cty.NilVal, errors.New("argument must be list, set, or tuple of number values")
			}
			n, err := convert.Convert(v, cty.Number)
			if err != nil {
				return cty.NilVal, errors.New("argument must be list, set, or tuple of number values")
			}
			if total == cty.NilVal {
				total = n
			} else {
				total = total.Add(n)
			}
		}
		return total, nil
	},
})
