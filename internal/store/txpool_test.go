package store

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"banyan/internal/work"
)

// Code running inside a transaction must use that transaction and nothing
// else. On PostgreSQL the readers and the writer share one pool: a
// transaction that reads through the pool waits for a connection while
// holding one, and once every connection is held that way the hub stops.
// On SQLite a write transaction that opens another waits for itself.
//
// The test reads the package's source: a method is "pool-using" when it
// touches the pools (s.r, s.w, s.g) or calls a method that is; a closure
// given to s.tx or a function that takes a *sql.Tx must call none.
func TestNoPoolInsideTransaction(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]*ast.FuncDecl{}
	var funcs []*ast.FuncDecl
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			funcs = append(funcs, fd)
			if storeReceiver(fd) != "" {
				methods[fd.Name.Name] = fd
			}
		}
	}

	// Which methods reach a pool, directly or through other methods.
	pool := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for name, fd := range methods {
			if pool[name] {
				continue
			}
			recv := storeReceiver(fd)
			if len(poolUses(fd.Body, recv, pool)) > 0 {
				pool[name], changed = true, true
			}
		}
	}

	var found []string
	report := func(body ast.Node, recv, where string) {
		for _, u := range poolUses(body, recv, pool) {
			found = append(found, fset.Position(u.pos).String()+": "+where+" uses "+u.what)
		}
	}
	for _, fd := range funcs {
		recv := storeReceiver(fd)
		if recv == "" {
			continue
		}
		if takesTx(fd.Type) {
			report(fd.Body, recv, fd.Name.Name+" (given a transaction)")
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isMethodCall(call, recv, "tx") {
				return true
			}
			for _, arg := range call.Args {
				if lit, ok := arg.(*ast.FuncLit); ok {
					report(lit.Body, recv, "the transaction in "+fd.Name.Name)
				}
			}
			return true
		})
	}
	sort.Strings(found)
	for _, f := range found {
		t.Error(f)
	}
	if len(methods) < 20 || !pool["tx"] || !pool["reader"] {
		t.Fatalf("the check read %d Store methods (tx pool-using: %v, reader: %v); it is not reading the package", len(methods), pool["tx"], pool["reader"])
	}
}

type poolUse struct {
	pos  token.Pos
	what string
}

// poolUses lists, in body, every touch of recv's pools and every call of
// a pool-using method on recv.
func poolUses(body ast.Node, recv string, pool map[string]bool) []poolUse {
	var out []poolUse
	ast.Inspect(body, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok || id.Name != recv {
			return true
		}
		switch name := sel.Sel.Name; {
		case name == "r" || name == "w" || name == "g":
			out = append(out, poolUse{sel.Pos(), recv + "." + name})
		case pool[name]:
			out = append(out, poolUse{sel.Pos(), recv + "." + name + " (which reaches a pool)"})
		}
		return true
	})
	return out
}

func storeReceiver(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) != 1 || len(fd.Recv.List[0].Names) != 1 {
		return ""
	}
	star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
	if !ok {
		return ""
	}
	if id, ok := star.X.(*ast.Ident); ok && id.Name == "Store" {
		return fd.Recv.List[0].Names[0].Name
	}
	return ""
}

func takesTx(ft *ast.FuncType) bool {
	for _, p := range ft.Params.List {
		star, ok := p.Type.(*ast.StarExpr)
		if !ok {
			continue
		}
		if sel, ok := star.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Tx" {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "sql" {
				return true
			}
		}
	}
	return false
}

func isMethodCall(call *ast.CallExpr, recv, name string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == recv
}

// The reads a center's upload makes inside InOneTx go through its
// transaction (dispatch checks its own reads likewise): with one connection in the pool they still finish.
func TestReadsInsideOneTxUseIt(t *testing.T) {
	dsn := testDSN(t)
	s, err := Open(context.Background(), dsn, Options{Migrate: true, MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := fixture(t, s, 1, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s.InOneTx(ctx, func(ctx context.Context) error {
		var name string
		if err := s.Read(ctx).QueryRowContext(ctx, `SELECT name FROM projects WHERE id = ?`, p.ID).Scan(&name); err != nil {
			return err
		}
		var n int
		return s.Read(ctx).QueryRowContext(ctx, `SELECT count(*) FROM uplink_items WHERE id = ?`, work.NewID()).Scan(&n)
	})
	if err != nil {
		t.Fatalf("reads inside one transaction, one connection: %v", err)
	}
}
