package purebpf_test

import (
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/purebpf/purebpf/internal/testenv"
)

const module = "github.com/purebpf/purebpf"

// depsSentence matches a sentence of a package's doc comment that says
// what it may import: "Package x may import ...", "Package x imports ...",
// "It may import ...", "Dependencies: ...". It ends at the first period
// that ends a sentence; a following "It must not import ..." is a
// different sentence and adds nothing.
var depsSentence = regexp.MustCompile(`(?s)(?:\bmay import\b|\bimports\b|\bDependencies:)(.*?)\.(?:\s|$)`)

// A doc comment's dependency sentence lists the packages a package may
// import; this test holds every package of the module to its sentence, as
// Go's own go/build deps_test holds the standard library to its table.
// Names are module paths relative to the module ("insn",
// "socket/classic", "purebpf/sys", "purebpf's insn, prog and perf
// packages"), full import paths ("golang.org/x/sys/unix"), "the standard
// library" and "internal packages". Test files are not checked.
func TestDocDependencies(t *testing.T) {
	pkgs := map[string]string{} // relative path -> directory
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		if path != "." {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module (bench/peers)
			}
		}
		if p, err := build.ImportDir(path, 0); err == nil && len(p.GoFiles) > 0 {
			pkgs[filepath.ToSlash(path)] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found only %d packages", len(pkgs))
	}
	for rel, dir := range pkgs {
		p, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		sentence := docDependencies(t, dir, p.GoFiles)
		if sentence == "" {
			t.Errorf("%s: the package doc says nothing about what it may import (\"Package %s may import ...\")", rel, p.Name)
			continue
		}
		allow := allowed(sentence, pkgs)
		for _, imp := range p.Imports {
			if !allow(imp) {
				t.Errorf("%s imports %s, which its doc does not allow: %q", rel, imp, sentence)
			}
		}
	}
}

// docDependencies returns the dependency sentence of the package doc
// comment in the files.
func docDependencies(t *testing.T, dir string, files []string) string {
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if af.Doc == nil {
			continue
		}
		text := strings.Join(strings.Fields(af.Doc.Text()), " ")
		for _, m := range depsSentence.FindAllStringSubmatchIndex(text, -1) {
			before := text[:m[0]]
			if strings.HasSuffix(before, "never ") || strings.HasSuffix(before, "not ") {
				continue // "prog never imports them", "must not import"
			}
			return strings.TrimSpace(text[m[2]:m[3]])
		}
	}
	return ""
}

// allowed turns a dependency sentence into a predicate on import paths.
func allowed(sentence string, pkgs map[string]string) func(string) bool {
	std := strings.Contains(sentence, "standard library")
	internal := strings.Contains(sentence, "internal packages")
	var paths []string
	words := strings.FieldsFunc(strings.ReplaceAll(sentence, "purebpf's", ""), func(r rune) bool {
		return r == ' ' || r == ',' || r == '(' || r == ')' || r == ';' || r == ':'
	})
	for _, w := range words {
		w = strings.TrimSuffix(strings.TrimPrefix(w, "purebpf/"), ".")
		if _, ok := pkgs[w]; ok {
			paths = append(paths, module+"/"+w)
		} else if strings.Contains(w, ".") && strings.Contains(w, "/") {
			paths = append(paths, w)
		}
	}
	return func(imp string) bool {
		for _, p := range paths {
			// A module path outside purebpf allows its packages
			// ("golang.org/x/arch" allows golang.org/x/arch/x86/x86asm);
			// a purebpf package allows only itself.
			if imp == p || (!strings.HasPrefix(p, module+"/") && strings.HasPrefix(imp, p+"/")) {
				return true
			}
		}
		switch {
		case internal && strings.HasPrefix(imp, module+"/") && strings.Contains(imp, "/internal/"):
			return true
		case std && !strings.Contains(strings.Split(imp, "/")[0], "."):
			return true
		}
		return false
	}
}

// The library packages build on every GOOS: perf, like prog and sys, has
// a portable API whose kernel features return errors wrapping
// ErrNotSupported off Linux. Off Linux link has only its Link interface,
// Type and Info (which perf's attach functions return), and prog only an
// opaque Program type.
func TestBuildsOffLinux(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the library; -short skips it")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.SkipOrFail(t, "the go command is not on PATH")
	}
	pkgs := []string{"./insn", "./sys", "./prog/...", "./perf/...", "./link", "./socket/...", "./interp/...", "./jit/...", "./cmd/...",
		"./internal/testenv", "./internal/mapvalue", "./internal/conformance", "./bpftest"}
	for _, goos := range []string{"darwin", "windows", "freebsd"} {
		cmd := exec.Command(gobin, append([]string{"build"}, pkgs...)...)
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOOS=%s go build: %v\n%s", goos, err, out)
		}
	}
}

// perf and socket have the same API on every system: off Linux the same
// functions and methods exist and return errors wrapping ErrNotSupported.
func TestSameAPIOffLinux(t *testing.T) {
	for _, dir := range []string{"perf", "socket"} {
		linux := exportedAPI(t, dir, "linux")
		for _, goos := range []string{"darwin", "windows"} {
			other := exportedAPI(t, dir, goos)
			for name, sig := range linux {
				if got, ok := other[name]; !ok {
					t.Errorf("%s: %s is missing on %s", dir, name, goos)
				} else if got != sig {
					t.Errorf("%s: %s is %s on linux, %s on %s", dir, name, sig, got, goos)
				}
			}
			for name := range other {
				if _, ok := linux[name]; !ok {
					t.Errorf("%s: %s exists on %s only", dir, name, goos)
				}
			}
		}
	}
}

// exportedAPI returns the exported functions and methods (with their
// signatures) and the exported types, constants and variables of the
// package in dir as built for goos.
func exportedAPI(t *testing.T, dir, goos string) map[string]string {
	t.Helper()
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = goos, "amd64", false
	p, err := ctx.ImportDir(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	api := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				key := d.Name.Name
				if d.Recv != nil {
					recv := d.Recv.List[0].Type
					if star, ok := recv.(*ast.StarExpr); ok {
						recv = star.X
					}
					if id, ok := recv.(*ast.Ident); !ok || !id.IsExported() {
						continue
					}
					var sb strings.Builder
					printer.Fprint(&sb, fset, d.Recv.List[0].Type)
					key = sb.String() + "." + key
				}
				var sb strings.Builder
				printer.Fprint(&sb, fset, d.Type)
				api[key] = sb.String()
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							api["type "+s.Name.Name] = ""
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								api[d.Tok.String()+" "+n.Name] = ""
							}
						}
					}
				}
			}
		}
	}
	return api
}

// The README's "written once, run three ways" snippet compiles against
// the packages as they are (in a function that provides frame and conn).
func TestReadmeSnippetCompiles(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "## A program, written once, run three ways")
	if !ok {
		t.Fatal("README has no section \"A program, written once, run three ways\"")
	}
	_, code, ok := strings.Cut(after, "```go\n")
	if ok {
		code, _, ok = strings.Cut(code, "```")
	}
	if !ok {
		t.Fatal("the section has no go code block")
	}
	src := `package readme

import (
	"github.com/purebpf/purebpf/insn"
	"github.com/purebpf/purebpf/interp"
	"github.com/purebpf/purebpf/prog"
	"github.com/purebpf/purebpf/socket"
)

func snippet(frame []byte, conn *socket.Conn) {
` + code + `
	_, _ = verdict, kverdict
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "readme.go", src, 0)
	if err != nil {
		t.Fatalf("README snippet: %v\n%s", err, src)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	if _, err := conf.Check("readme", fset, []*ast.File{f}, nil); err != nil {
		t.Errorf("README snippet does not compile: %v", err)
	}
}
