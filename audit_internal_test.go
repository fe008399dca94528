package auth

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// auditConstants returns the AuditEvent constants declared in audit.go,
// name to value.
func auditConstants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "AuditEvent" {
				continue
			}
			for i, name := range v.Names {
				lit, ok := v.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("AuditEvent constant %s is not a string literal", name.Name)
				}
				val, _ := strconv.Unquote(lit.Value)
				consts[name.Name] = val
			}
		}
	}
	if len(consts) == 0 {
		t.Fatal("no AuditEvent constants in audit.go")
	}
	return consts
}

// TestAuditEventsOneList checks that the AuditEvent constants are the one
// list of audit events: every audit call names a constant (never a string
// literal), every constant is logged somewhere, and the README's table of
// audit events lists exactly the constants' names.
func TestAuditEventsOneList(t *testing.T) {
	t.Parallel()
	consts := auditConstants(t)
	used := map[string]bool{}
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			arg := -1
			switch sel.Sel.Name {
			case "audit":
				arg = 1
			case "auditAt":
				arg = 2
			}
			if arg < 0 || len(call.Args) <= arg {
				return true
			}
			id, ok := call.Args[arg].(*ast.Ident)
			if ok && id.Name == "event" && fset.Position(call.Pos()).Filename == "audit.go" {
				return true // audit passing its argument on to auditAt
			}
			if ok && id.Name == "event" && fset.Position(call.Pos()).Filename == "waysin.go" {
				return true // Audit passing a module's event on to audit
			}
			if !ok || consts[id.Name] == "" {
				t.Errorf("%s: %s names its event with %T, want an AuditEvent constant", fset.Position(call.Pos()), sel.Sel.Name, call.Args[arg])
				return true
			}
			used[id.Name] = true
			return true
		})
	}
	var want []string
	for name, v := range consts {
		want = append(want, v)
		if !used[name] && !strings.HasPrefix(name, "AuditPasskey") { // the passkey module logs these through Audit
			t.Errorf("AuditEvent %s (%q) is never logged", name, v)
		}
	}
	slices.Sort(want)

	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `(auth\\.[a-z._]+)` \\|")
	var got []string
	for line := range strings.Lines(string(readme)) {
		if m := row.FindStringSubmatch(line); m != nil {
			got = append(got, m[1])
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("README's audit event table lists\n%q\nwant the AuditEvent constants\n%q", got, want)
	}
}
