package prog

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// prog's API speaks in prog's own types: a user never needs a sys
// constant (uint32(sys.AttachXDP)) to fill an option, and the only sys
// type it takes or returns is *sys.FD, where a raw descriptor crosses the
// boundary (sys is public, see its package doc). Checked on the source:
// exported functions, methods and struct fields may not mention another
// sys type, and the comments of exported fields may not point at sys
// constants.
func TestAPINeedsNoSysConstants(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		checkType := func(what string, expr ast.Expr) {
			ast.Inspect(expr, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "sys" && sel.Sel.Name != "FD" {
						t.Errorf("%s: %s uses sys.%s", fset.Position(expr.Pos()), what, sel.Sel.Name)
					}
				}
				return true
			})
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				checkType("func "+d.Name.Name, d.Type)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					ts, ok := s.(*ast.TypeSpec)
					if !ok || !ts.Name.IsExported() {
						continue
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, fld := range st.Fields.List {
						if len(fld.Names) == 0 || !fld.Names[0].IsExported() {
							continue
						}
						what := ts.Name.Name + "." + fld.Names[0].Name
						checkType(what, fld.Type)
						for _, c := range []*ast.CommentGroup{fld.Doc, fld.Comment} {
							if c != nil && strings.Contains(c.Text(), "sys.") && !strings.Contains(c.Text(), "*sys.Error") {
								t.Errorf("%s: the comment of %s points users at package sys: %q", fset.Position(fld.Pos()), what, c.Text())
							}
						}
					}
				}
			}
		}
	}
}
