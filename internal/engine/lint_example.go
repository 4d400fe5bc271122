package engine

import "strings"

// examples checks a probe's captures against its declared example output
// (`run.example`): a capture that finds nothing there is an error, since it
// would find nothing on a real host printing the same. Patterns that name
// params or earlier captures depend on the run and are not judged.
func (l *linter) examples(st *Step) {
	c := st.Command()
	if c == nil || c.Example == "" {
		return
	}
	for _, cp := range st.Capture {
		if strings.Contains(cp.Pattern, "{{") {
			continue
		}
		out := applyCapture(cp, cp.Pattern, c.Example)
		var why string
		switch cp.Kind {
		case CaptureJSON:
			if out[cp.Name] == "" {
				why = "the example output is not JSON"
			}
		case CaptureTable:
			if out[cp.Name] == "[]" || out[cp.Name] == "null" {
				why = "the table capture finds no rows in the example output"
			}
		case CaptureAll:
			if out[cp.Name] == "[]" {
				why = "the pattern matches nothing in the example output"
			}
		default:
			if _, ok := out[cp.Name]; !ok && len(l.groupNames(cp)) == 0 {
				why = "the pattern never matches the example output"
			} else if len(out) == 0 {
				why = "the pattern never matches the example output"
			}
		}
		if why != "" {
			p := cp.PatPos
			if p.Line == 0 {
				p = cp.Pos
			}
			l.errf(p, "fix the pattern, or the example if the probe prints something else (example at "+lineCol(c.ExamplePos)+")", "capture %s: %s", cp.Name, why)
		}
	}
}

func lineCol(p Pos) string { return p.String() }
