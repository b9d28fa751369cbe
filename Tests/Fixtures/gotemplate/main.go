// Command gotemplate renders a table of templates with Go's own text/template, with
// Packer's template functions stubbed to fixed values, so Kiln's engine can be compared
// with Go's row by row (Tests/KilnCoreTests/GoTemplateConformanceTests.swift).
//
// Usage: gotemplate TABLE.json, where the table is a JSON array of template strings. It
// prints a JSON array with, for each row, {"output": "..."} or {"error": "..."}.
//
// The stubs follow Packer 1.6.6's template/interpolate signatures (typed Go functions, so
// text/template's argument checks are Packer's) with the values the Swift side uses:
// the build clock 2020-12-16T15:04:05Z, builder phase (env not allowed, an unknown user
// variable is empty).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

var clock = time.Unix(1608131045, 0).UTC()

var variables = map[string]string{
	"k8s_version": "1.29",
	"name":        "My Image!",
	"regions":     "us-east-1,eu-west-1",
}

var notResourceName = regexp.MustCompile(`[^a-zA-Z0-9()\[\] ./'@_-]`)

var funcs = template.FuncMap{
	"user": func(k string) (string, error) { return variables[k], nil },
	"env": func(k string) (string, error) {
		return "", errors.New("env vars are not allowed here")
	},
	"timestamp": func() string { return strconv.FormatInt(clock.Unix(), 10) },
	"isotime": func(format ...string) (string, error) {
		if len(format) == 0 {
			return clock.Format(time.RFC3339), nil
		}
		if len(format) > 1 {
			return "", fmt.Errorf("too many values, 1 needed: %v", format)
		}
		return clock.Format(format[0]), nil
	},
	"build_name":     func() (string, error) { return "eks", nil },
	"build_type":     func() (string, error) { return "amazon-ebs", nil },
	"template_dir":   func() (string, error) { return "/tmpl", nil },
	"pwd":            func() (string, error) { return "/work", nil },
	// Kiln's KilnVersion.packerCompatibility: the template language version it implements.
	"packer_version": func() string { return "1.9.4" },
	"split": func(k string, s string, i int) (string, error) {
		parts := strings.Split(k, s)
		if len(parts) <= i {
			return "", fmt.Errorf("index %d out of range", i)
		}
		return parts[i], nil
	},
	"replace":     func(old, new string, n int, src string) string { return strings.Replace(src, old, new, n) },
	"replace_all": func(old, new, src string) string { return strings.ReplaceAll(src, old, new) },
	"upper":       strings.ToUpper,
	"lower":       strings.ToLower,
	"clean_resource_name": func(name string) string {
		return notResourceName.ReplaceAllString(name, "-")
	},
}

// data is `.`; the Swift side gives the same values as its render context's fields.
var data = map[string]interface{}{
	"Name":  "img",
	"Count": 3,
	"Empty": "",
	"Items": []interface{}{"a", "b"},
	"None":  []interface{}{},
	"Tags":  map[string]interface{}{"Team": "core", "Env": "prod"},
}

type result struct {
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

func render(text string) (out result) {
	defer func() {
		if r := recover(); r != nil {
			message := fmt.Sprint("panic: ", r)
			out = result{Error: &message}
		}
	}()
	tmpl, err := template.New("row").Funcs(funcs).Parse(text)
	if err == nil {
		var buffer bytes.Buffer
		if err = tmpl.Execute(&buffer, data); err == nil {
			rendered := buffer.String()
			return result{Output: &rendered}
		}
	}
	message := err.Error()
	return result{Error: &message}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gotemplate TABLE.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var rows []string
	if err := json.Unmarshal(raw, &rows); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	results := make([]result, len(rows))
	for i, row := range rows {
		results[i] = render(row)
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
