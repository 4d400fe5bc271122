package engine

import (
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// maxAliasExpansion bounds the nodes aliases may expand to, so a runbook of
// nested aliases ("billion laughs") cannot make loading explode.
const maxAliasExpansion = 200000

// resolveAliases replaces every `*name` in the document by the node its
// `&name` anchored, in document order, so the loader sees plain YAML.
// Scalars are copied with the alias's own position, so a message about an
// aliased value points at the use; a mapping keeps the positions where its
// text is written. Merge keys (`<<: *base`) are handled by mapping.
func (l *loader) resolveAliases(n ast.Node) ast.Node {
	r := &aliasResolver{l: l, anchors: map[string]ast.Node{}, sizes: map[ast.Node]int{}}
	out, _ := r.visit(n)
	return out
}

type aliasResolver struct {
	l        *loader
	anchors  map[string]ast.Node
	sizes    map[ast.Node]int
	expanded int
	failed   bool
}

// visit returns the node to use in place of n and the size it stands for.
func (r *aliasResolver) visit(n ast.Node) (ast.Node, int) {
	if n == nil || r.failed {
		return n, 0
	}
	switch v := n.(type) {
	case *ast.AnchorNode:
		val, size := r.visit(v.Value)
		v.Value = val
		if name := scalarString(v.Name); name != "" {
			r.anchors[name] = val
			r.sizes[val] = size
		}
		return v, size
	case *ast.AliasNode:
		name := scalarString(v.Value)
		target, ok := r.anchors[name]
		if !ok {
			r.l.errf(r.l.pos(v), "define it first with `&"+name+"` on the value to reuse", "alias *%s names no anchor before it", name)
			return &ast.NullNode{BaseNode: &ast.BaseNode{}, Token: v.Start}, 1
		}
		size := r.sizes[target]
		r.expanded += size
		if r.expanded > maxAliasExpansion {
			r.l.errf(r.l.pos(v), "reuse less, or split the runbook", "aliases expand to more than %d YAML nodes", maxAliasExpansion)
			r.failed = true
			return &ast.NullNode{BaseNode: &ast.BaseNode{}, Token: v.Start}, 1
		}
		if isScalar(target) {
			if _, null := unwrap(target).(*ast.NullNode); !null {
				tk := *target.GetToken()
				tk.Position = &token.Position{}
				if v.Start != nil && v.Start.Position != nil {
					*tk.Position = *v.Start.Position
				}
				return &ast.StringNode{BaseNode: &ast.BaseNode{}, Token: &tk, Value: scalarString(target)}, size
			}
		}
		return target, size
	case *ast.TagNode:
		val, size := r.visit(v.Value)
		v.Value = val
		return v, size
	case *ast.MappingNode:
		size := 1
		for _, mv := range v.Values {
			_, s := r.visit(mv)
			size += s
		}
		return v, size
	case *ast.MappingValueNode:
		val, s := r.visit(v.Value)
		v.Value = val
		return v, 1 + s
	case *ast.SequenceNode:
		size := 1
		for i, x := range v.Values {
			val, s := r.visit(x)
			v.Values[i] = val
			size += s
		}
		return v, size
	}
	return n, 1
}

// mergeFields expands `<<: *base` (or a list of them) in a mapping: the
// base's keys come in where the merge key stands, unless the mapping sets
// them itself.
func (l *loader) mergeFields(values []*ast.MappingValueNode) []*ast.MappingValueNode {
	has := false
	for _, mv := range values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			has = true
		}
	}
	if !has {
		return values
	}
	own := map[string]bool{}
	for _, mv := range values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); !ok {
			own[scalarString(mv.Key)] = true
		}
	}
	var out []*ast.MappingValueNode
	for _, mv := range values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); !ok {
			out = append(out, mv)
			continue
		}
		var bases []ast.Node
		if seq, ok := unwrap(mv.Value).(*ast.SequenceNode); ok {
			bases = seq.Values
		} else {
			bases = []ast.Node{mv.Value}
		}
		for _, b := range bases {
			var bv []*ast.MappingValueNode
			switch m := unwrap(b).(type) {
			case *ast.MappingNode:
				bv = m.Values
			case *ast.MappingValueNode:
				bv = []*ast.MappingValueNode{m}
			default:
				l.errf(l.pos(b), "merge a mapping: `<<: *name` where `&name` marks a mapping", "<< must merge a mapping, got %s", describe(b))
				continue
			}
			for _, x := range l.mergeFields(bv) {
				k := scalarString(x.Key)
				if own[k] {
					continue
				}
				own[k] = true
				out = append(out, x)
			}
		}
	}
	return out
}
