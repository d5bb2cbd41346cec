package engine

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rule is a collection's row rule: a condition over its fields (hidden
// ones included) that may refer to the principal who asks, parsed once
// and bound to each principal into Conds that join the request's own
// filters. The language:
//
//	rule    = or
//	or      = and { OR and }
//	and     = unary { AND unary }
//	unary   = NOT unary | "(" or ")" | test
//	test    = field op value            op: = != <> < <= > >=
//	        | field IS [NOT] NULL
//	        | field [NOT] IN "(" value { "," value } ")"
//	        | field IN $roles            a scalar field holds one of the roles
//	        | value IN field             a JSON array field holds the value
//	        | $subject IN field | $roles IN field
//	        | text IN $roles             the principal has the role
//	        | $subject IS [NOT] NULL     the principal is anonymous (or not)
//	value   = 'text' | number | TRUE | FALSE | $subject
//
// Keywords are case-insensitive; a field name that is not a plain word is
// written in double quotes. As in every filter, a comparison never
// matches NULL, and NOT turns a non-match into a match. The anonymous
// principal has no subject and no roles: a comparison with $subject does
// not match, and IN $roles holds nothing.
type Rule struct {
	text string
	root *ruleNode
}

func (r *Rule) String() string { return r.text }

// Parameters a rule may refer to.
const (
	paramSubject = "$subject"
	paramRoles   = "$roles"
)

type ruleKind uint8

const (
	nodeOr ruleKind = iota
	nodeAnd
	nodeNot
	nodeTest  // a field against literals
	nodeBound // a field against the principal: $subject or $roles
	nodeConst // the principal alone: a role, or anonymous
)

type ruleNode struct {
	kind  ruleKind
	kids  []*ruleNode
	field *Field
	op    Op
	vals  []Value // nodeTest: typed values; nodeConst with a role: the role
	param string  // nodeBound, nodeConst: $subject or $roles
	neg   bool    // nodeConst IS NOT NULL
}

// RuleError is a rule that does not parse or names what c does not have;
// Offset is the byte of the rule at fault.
type RuleError struct {
	Offset  int
	Message string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("rule: at character %d: %s", e.Offset+1, e.Message)
}

// maxRuleTests bounds a rule's tests, as MaxConditions bounds a query's.
const maxRuleTests = 64

// ParseRule parses text as a rule over c's fields, hidden ones included.
// Every field must exist and every operator and value fit its field's type.
func ParseRule(c *Collection, text string) (*Rule, error) {
	p := &ruleParser{c: c, src: text}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 1 {
		return nil, &RuleError{0, "the rule is empty"}
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "unexpected %s", t)
	}
	return &Rule{text: text, root: n}, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokQuoted // "field"
	tokText   // 'text'
	tokNumber
	tokParam // $subject, $roles
	tokOp    // = != <> < <= > >=
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokKind
	text string
	at   int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of rule"
	case tokText:
		return fmt.Sprintf("'%s'", t.text)
	case tokQuoted:
		return fmt.Sprintf("%q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func (t token) is(word string) bool { return t.kind == tokWord && strings.EqualFold(t.text, word) }

type ruleParser struct {
	c     *Collection
	src   string
	toks  []token
	pos   int
	tests int
}

func (p *ruleParser) errorf(t token, format string, args ...any) *RuleError {
	return &RuleError{t.at, fmt.Sprintf(format, args...)}
}

func (p *ruleParser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &RuleError{i, "the rule is not valid UTF-8"}
		case unicode.IsSpace(r):
			i += size
		case r == '(' || r == ')' || r == ',':
			p.toks = append(p.toks, token{kind: map[rune]tokKind{'(': tokLParen, ')': tokRParen, ',': tokComma}[r], text: string(r), at: i})
			i++
		case r == '=' || r == '<' || r == '>' || r == '!':
			j := i + 1
			if j < len(s) && (s[j] == '=' || r == '<' && s[j] == '>') {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return &RuleError{i, "'!' must be followed by '='"}
			}
			p.toks = append(p.toks, token{kind: tokOp, text: op, at: i})
			i = j
		case r == '\'' || r == '"':
			var b strings.Builder
			j := i + 1
			for {
				k := strings.IndexRune(s[j:], r)
				if k < 0 {
					return &RuleError{i, "unterminated quote"}
				}
				b.WriteString(s[j : j+k])
				j += k + 1
				if j < len(s) && rune(s[j]) == r { // a doubled quote stands for itself
					b.WriteRune(r)
					j++
					continue
				}
				break
			}
			kind := tokText
			if r == '"' {
				kind = tokQuoted
			}
			p.toks = append(p.toks, token{kind: kind, text: b.String(), at: i})
			i = j
		case r == '$':
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			name := strings.ToLower(s[i:j])
			if name != paramSubject && name != paramRoles {
				return &RuleError{i, fmt.Sprintf("unknown parameter %q (a rule knows $subject and $roles)", s[i:j])}
			}
			p.toks = append(p.toks, token{kind: tokParam, text: name, at: i})
			i = j
		case r == '-' || r == '+' || r == '.' || r >= '0' && r <= '9':
			j := i + 1
			for j < len(s) && (isWordByte(s[j]) || s[j] == '.' || (s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
			p.toks = append(p.toks, token{kind: tokNumber, text: s[i:j], at: i})
			i = j
		case r == '_' || unicode.IsLetter(r):
			j := i
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if !(r == '_' || r == '.' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
					break
				}
				j += size
			}
			p.toks = append(p.toks, token{kind: tokWord, text: s[i:j], at: i})
			i = j
		default:
			return &RuleError{i, fmt.Sprintf("unexpected character %q", r)}
		}
	}
	p.toks = append(p.toks, token{kind: tokEOF, at: len(s)})
	return nil
}

func isWordByte(b byte) bool {
	return b == '_' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

func (p *ruleParser) peek() token { return p.toks[p.pos] }

func (p *ruleParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *ruleParser) expect(kind tokKind, what string) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, p.errorf(t, "expected %s, found %s", what, t)
	}
	return t, nil
}

// keywords may not name a field unquoted.
var keywords = []string{"and", "or", "not", "in", "is", "null", "true", "false"}

// maxRuleDepth bounds the nesting of a rule, so that a deep one is an
// error and not a deep recursion.
const maxRuleDepth = 32

func (p *ruleParser) or(depth int) (*ruleNode, error) {
	if depth > maxRuleDepth {
		return nil, p.errorf(p.peek(), "the rule nests more than %d deep", maxRuleDepth)
	}
	n, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	if !p.peek().is("or") {
		return n, nil
	}
	out := &ruleNode{kind: nodeOr, kids: []*ruleNode{n}}
	for p.peek().is("or") {
		p.next()
		k, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		out.kids = append(out.kids, k)
	}
	return out, nil
}

func (p *ruleParser) and(depth int) (*ruleNode, error) {
	n, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	if !p.peek().is("and") {
		return n, nil
	}
	out := &ruleNode{kind: nodeAnd, kids: []*ruleNode{n}}
	for p.peek().is("and") {
		p.next()
		k, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		out.kids = append(out.kids, k)
	}
	return out, nil
}

func (p *ruleParser) unary(depth int) (*ruleNode, error) {
	t := p.peek()
	switch {
	case t.is("not"):
		p.next()
		if depth > maxRuleDepth {
			return nil, p.errorf(t, "the rule nests more than %d deep", maxRuleDepth)
		}
		k, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &ruleNode{kind: nodeNot, kids: []*ruleNode{k}}, nil
	case t.kind == tokLParen:
		p.next()
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return n, nil
	}
	if p.tests++; p.tests > maxRuleTests {
		return nil, p.errorf(t, "the rule has more than %d tests", maxRuleTests)
	}
	return p.test()
}

// fieldOf returns the field a token names, or nil when it names none
// (a literal, a parameter).
func (p *ruleParser) fieldOf(t token) (*Field, error) {
	switch {
	case t.kind == tokQuoted:
	case t.kind == tokWord && !slices.Contains(keywords, strings.ToLower(t.text)):
	default:
		return nil, nil
	}
	for _, f := range p.c.Fields {
		if f.Name == t.text {
			return f, nil
		}
	}
	return nil, p.errorf(t, "collection %q has no field %q", p.c.Name, t.text)
}

// ruleOps maps a comparison's spelling onto its operator.
var ruleOps = map[string]Op{"=": OpEq, "!=": OpNe, "<>": OpNe, "<": OpLt, "<=": OpLte, ">": OpGt, ">=": OpGte}

func (p *ruleParser) test() (*ruleNode, error) {
	left := p.next()
	f, err := p.fieldOf(left)
	if err != nil {
		return nil, err
	}
	if f != nil {
		return p.fieldTest(left, f)
	}
	// A value (a literal or a parameter) on the left: IN a JSON array
	// field, IN $roles, or $subject IS [NOT] NULL.
	switch {
	case left.kind == tokParam && left.text == paramSubject && p.peek().is("is"):
		p.next()
		neg := false
		if p.peek().is("not") {
			p.next()
			neg = true
		}
		if t := p.next(); !t.is("null") {
			return nil, p.errorf(t, "expected NULL, found %s", t)
		}
		return &ruleNode{kind: nodeConst, param: paramSubject, neg: neg}, nil
	case left.kind != tokText && left.kind != tokNumber && left.kind != tokParam && !left.is("true") && !left.is("false"):
		return nil, p.errorf(left, "expected a field, a value or a parameter, found %s", left)
	}
	if t := p.next(); !t.is("in") {
		return nil, p.errorf(t, "after a value only IN may follow (value IN array_field, 'role' IN $roles), found %s", t)
	}
	right := p.next()
	if right.kind == tokParam && right.text == paramRoles {
		if left.kind != tokText {
			return nil, p.errorf(left, "IN $roles takes a role in quotes")
		}
		return &ruleNode{kind: nodeConst, param: paramRoles, vals: []Value{left.text}}, nil
	}
	af, err := p.fieldOf(right)
	if err != nil {
		return nil, err
	}
	if af == nil {
		return nil, p.errorf(right, "expected a JSON array field or $roles after IN, found %s", right)
	}
	if af.Type != TypeJSON {
		return nil, p.errorf(right, "field %q is not a JSON array: write %s = value, or %s IN (values)", af.Name, af.Name, af.Name)
	}
	if left.kind == tokParam {
		return &ruleNode{kind: nodeBound, field: af, op: OpAny, param: left.text}, nil
	}
	// Elements of an array are compared as text (see checkFilter).
	return &ruleNode{kind: nodeTest, field: af, op: OpAny, vals: []Value{left.text}}, nil
}

func (p *ruleParser) fieldTest(left token, f *Field) (*ruleNode, error) {
	t := p.next()
	switch {
	case t.is("is"):
		want := true
		if p.peek().is("not") {
			p.next()
			want = false
		}
		if n := p.next(); !n.is("null") {
			return nil, p.errorf(n, "expected NULL, found %s", n)
		}
		return &ruleNode{kind: nodeTest, field: f, op: OpNull, vals: []Value{want}}, nil
	case t.is("not") || t.is("in"):
		negated := t.is("not")
		if negated {
			if n := p.next(); !n.is("in") {
				return nil, p.errorf(n, "expected IN after NOT, found %s", n)
			}
		}
		if !opApplies(OpIn, f.Type) {
			return nil, p.errorf(left, "field %q is a JSON array: write value IN %s", f.Name, f.Name)
		}
		if n := p.peek(); n.kind == tokParam {
			p.next()
			if n.text != paramRoles {
				return nil, p.errorf(n, "IN takes a list of values or $roles; for $subject write %s = $subject", f.Name)
			}
			node := &ruleNode{kind: nodeBound, field: f, op: OpIn, param: paramRoles}
			return negate(node, negated), nil
		}
		if _, err := p.expect(tokLParen, "'(' or $roles after IN"); err != nil {
			return nil, err
		}
		node := &ruleNode{kind: nodeTest, field: f, op: OpIn}
		for {
			v, err := p.literal(f, f.Type)
			if err != nil {
				return nil, err
			}
			node.vals = append(node.vals, v)
			n := p.next()
			if n.kind == tokRParen {
				break
			}
			if n.kind != tokComma {
				return nil, p.errorf(n, "expected ',' or ')', found %s", n)
			}
		}
		return negate(node, negated), nil
	case t.kind == tokOp:
		op := ruleOps[t.text]
		if !opApplies(op, f.Type) {
			return nil, p.errorf(t, "field %q is a JSON array: write value IN %s", f.Name, f.Name)
		}
		if n := p.peek(); n.kind == tokParam {
			p.next()
			if n.text != paramSubject {
				return nil, p.errorf(n, "compare a field with $subject; for roles write %s IN $roles", f.Name)
			}
			if f.Type != TypeText && f.Type != TypeInt {
				return nil, p.errorf(n, "field %q is %v: $subject compares with text or integer fields", f.Name, f.Type)
			}
			return &ruleNode{kind: nodeBound, field: f, op: op, param: paramSubject}, nil
		}
		v, err := p.literal(f, f.Type)
		if err != nil {
			return nil, err
		}
		return &ruleNode{kind: nodeTest, field: f, op: op, vals: []Value{v}}, nil
	}
	return nil, p.errorf(t, "expected an operator (=, !=, <, <=, >, >=, IN, IS) after field %q, found %s", f.Name, t)
}

func negate(n *ruleNode, neg bool) *ruleNode {
	if !neg {
		return n
	}
	return &ruleNode{kind: nodeNot, kids: []*ruleNode{n}}
}

// literal reads a value of type t for field f.
func (p *ruleParser) literal(f *Field, t Type) (Value, error) {
	tok := p.next()
	var raw string
	switch {
	case tok.kind == tokText || tok.kind == tokNumber:
		raw = tok.text
	case tok.is("true") || tok.is("false"):
		raw = strings.ToLower(tok.text)
	case tok.is("null"):
		return nil, p.errorf(tok, "a comparison with NULL never matches: write %s IS NULL", f.Name)
	default:
		return nil, p.errorf(tok, "expected a value for field %q, found %s", f.Name, tok)
	}
	if tok.kind == tokText && (t == TypeInt || t == TypeFloat || t == TypeBool) {
		return nil, p.errorf(tok, "field %q is %v: write the value without quotes", f.Name, t)
	}
	v, err := ParseValue(t, raw)
	if err != nil {
		return nil, p.errorf(tok, "field %q: %v", f.Name, err)
	}
	return v, nil
}

// Bind resolves the rule for p into the conditions that select the rows p
// may see, folding what p alone decides (its roles, whether it has a
// subject). ruled is false when the rule lets p see every row: then there
// are no conditions.
func (r *Rule) Bind(p Principal) (conds []Cond, ruled bool) {
	b := r.root.bind(p)
	switch {
	case b.konst && b.value:
		return nil, false
	case b.konst:
		return []Cond{matchNothing()}, true
	}
	return b.conj, true
}

// matchNothing is a condition no row meets: a disjunction of no groups.
func matchNothing() Cond { return Cond{Op: OpOr} }

// bound is a rule node bound to a principal: a constant, or a
// conjunction of conditions.
type bound struct {
	konst, value bool
	conj         []Cond
}

var boundTrue, boundFalse = bound{konst: true, value: true}, bound{konst: true}

func (n *ruleNode) bind(p Principal) bound {
	switch n.kind {
	case nodeOr:
		var groups [][]Cond
		for _, k := range n.kids {
			b := k.bind(p)
			if b.konst {
				if b.value {
					return boundTrue
				}
				continue
			}
			groups = append(groups, b.conj)
		}
		switch len(groups) {
		case 0:
			return boundFalse
		case 1:
			return bound{conj: groups[0]}
		}
		return bound{conj: []Cond{{Op: OpOr, Sub: groups}}}
	case nodeAnd:
		var conj []Cond
		for _, k := range n.kids {
			b := k.bind(p)
			if b.konst {
				if !b.value {
					return boundFalse
				}
				continue
			}
			conj = append(conj, b.conj...)
		}
		if len(conj) == 0 {
			return boundTrue
		}
		return bound{conj: conj}
	case nodeNot:
		b := n.kids[0].bind(p)
		if b.konst {
			return bound{konst: true, value: !b.value}
		}
		return bound{conj: []Cond{{Op: OpNot, Sub: [][]Cond{b.conj}}}}
	case nodeTest:
		return bound{conj: []Cond{{Field: n.field, Op: n.op, Values: n.vals}}}
	case nodeConst:
		if n.param == paramSubject {
			return bound{konst: true, value: p.Anonymous() != n.neg}
		}
		return bound{konst: true, value: !p.Anonymous() && slices.Contains(p.Roles, n.vals[0].(string))}
	}
	// nodeBound: a field against the principal's subject or roles.
	var vals []Value
	if !p.Anonymous() {
		if n.param == paramSubject {
			vals = []Value{p.Subject}
		} else {
			for _, r := range p.Roles {
				vals = append(vals, r)
			}
		}
	}
	if n.op != OpAny {
		// A scalar field: the subject or roles typed as the field, those
		// that are no value of its type matching nothing.
		typed := vals[:0:0]
		for _, v := range vals {
			if tv, err := ParseValue(n.field.Type, v.(string)); err == nil {
				typed = append(typed, tv)
			}
		}
		vals = typed
	}
	if len(vals) == 0 {
		return boundFalse // no subject, no role: nothing to compare with
	}
	return bound{conj: []Cond{{Field: n.field, Op: n.op, Values: vals}}}
}
