package insn

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a token of the assembler syntax.
type tokKind uint8

const (
	tokEOL    tokKind = iota // end of the line (or a comment)
	tokIdent                 // register, keyword or label name
	tokNumber                // unsigned decimal or 0x hex number
	tokPunct                 // operator or punctuation
)

// token is one lexical token of a line.
type token struct {
	kind tokKind
	text string
	col  int    // 1-based byte column
	num  uint64 // value of a tokNumber
}

// is reports whether t is the identifier or punctuation s.
func (t token) is(s string) bool {
	return (t.kind == tokIdent || t.kind == tokPunct) && t.text == s
}

// describe quotes a token for an error message.
func (t token) describe() string {
	if t.kind == tokEOL {
		return "end of line"
	}
	return strconv.Quote(t.text)
}

// puncts lists the punctuation tokens, longer before shorter so that the
// first match is the longest.
var puncts = []string{
	"s>>=", "s>=", "s<=", "s/=", "s%=", "s>", "s<",
	"<<=", ">>=",
	"+=", "-=", "*=", "/=", "|=", "&=", "%=", "^=", "==", "!=", ">=", "<=",
	"=", ">", "<", "&", "+", "-", "*", "(", ")", "[", "]", ",", ":",
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '.' || c == '$' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || ('0' <= c && c <= '9') }

// lexLine splits one line into tokens, dropping comments ("#", ";" and "//"
// to the end of the line). The last token is always tokEOL.
func lexLine(line string, lineNo int) ([]token, error) {
	var toks []token
	i := 0
	for i < len(line) {
		c := line[i]
		col := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		case c == '#' || c == ';' || strings.HasPrefix(line[i:], "//"):
			i = len(line)
			continue
		case c == 's' && i+1 < len(line) && strings.IndexByte("<>/%", line[i+1]) >= 0:
			// The signed operators s<, s>=, s/=, s%=, s>>= ... start like
			// an identifier; "s" directly followed by an operator is one.
			if p := matchPunct(line[i:]); p != "" {
				toks = append(toks, token{kind: tokPunct, text: p, col: col})
				i += len(p)
				continue
			}
		}
		switch {
		case isIdentStart(c):
			j := i + 1
			for j < len(line) && isIdentChar(line[j]) {
				j++
			}
			toks = append(toks, token{kind: tokIdent, text: line[i:j], col: col})
			i = j
		case '0' <= c && c <= '9':
			j := i + 1
			for j < len(line) && isIdentChar(line[j]) {
				j++
			}
			text := line[i:j]
			v, err := parseNumber(text)
			if err != nil {
				msg := fmt.Sprintf("expected number, found %q", text)
				if err != ErrSyntax {
					msg = fmt.Sprintf("number %s does not fit in 64 bits", text)
				}
				return nil, &ParseError{Line: lineNo, Column: col, Msg: msg, Err: err}
			}
			toks = append(toks, token{kind: tokNumber, text: text, col: col, num: v})
			i = j
		default:
			p := matchPunct(line[i:])
			if p == "" {
				r, size := utf8.DecodeRuneInString(line[i:])
				found := strconv.QuoteRune(r)
				if r == utf8.RuneError && size <= 1 {
					found = fmt.Sprintf("byte 0x%02x", c)
				}
				return nil, &ParseError{Line: lineNo, Column: col, Msg: "expected instruction text, found " + found, Err: ErrSyntax}
			}
			toks = append(toks, token{kind: tokPunct, text: p, col: col})
			i += len(p)
		}
	}
	return append(toks, token{kind: tokEOL, col: len(line) + 1}), nil
}

func matchPunct(s string) string {
	for _, p := range puncts {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return ""
}

// parseNumber reads an unsigned decimal or 0x-prefixed hexadecimal number.
func parseNumber(text string) (uint64, error) {
	base := 10
	digits := text
	if len(text) > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') {
		base, digits = 16, text[2:]
	}
	for k := 0; k < len(digits); k++ {
		c := digits[k]
		ok := '0' <= c && c <= '9'
		if base == 16 {
			ok = ok || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
		}
		if !ok {
			return 0, ErrSyntax
		}
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s does not fit in 64 bits", ErrImmediateOverrun, text)
	}
	return v, nil
}
