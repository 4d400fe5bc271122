package engine_test

import (
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/internal/engine"
)

// TestTypedParamsRefuseOptions: a typed param never starts with '-' (it
// would become an option of the command it is passed to), and no param is
// over 64 KiB.
func TestTypedParamsRefuseOptions(t *testing.T) {
	neg := int64(-10)
	zero := int64(0)
	for _, c := range []struct {
		p    engine.Param
		v    string
		want bool // accepted
	}{
		{engine.Param{Name: "f", Type: engine.ParamPath}, "--files0-from=/etc/hostname", false},
		{engine.Param{Name: "f", Type: engine.ParamPath}, "-rf", false},
		{engine.Param{Name: "f", Type: engine.ParamPath}, "/srv/-x", true},
		{engine.Param{Name: "h", Type: engine.ParamHost}, "-oProxyCommand=id", false},
		{engine.Param{Name: "h", Type: engine.ParamHost}, "web-1", true},
		{engine.Param{Name: "i", Type: engine.ParamIP}, "-1", false},
		{engine.Param{Name: "d", Type: engine.ParamDuration}, "-5m", false},
		{engine.Param{Name: "d", Type: engine.ParamDuration}, "5m", true},
		{engine.Param{Name: "n", Type: engine.ParamInt}, "-5", false},
		{engine.Param{Name: "n", Type: engine.ParamInt, Min: &zero}, "-5", false},
		{engine.Param{Name: "n", Type: engine.ParamInt, Min: &neg}, "-5", true},
		{engine.Param{Name: "n", Type: engine.ParamInt}, " -5", false},
		{engine.Param{Name: "e", Type: engine.ParamEnum, Values: []string{"a", "-v"}}, "-v", true},
		{engine.Param{Name: "e", Type: engine.ParamEnum, Values: []string{"a"}}, "-a", false},
		{engine.Param{Name: "s", Type: engine.ParamString}, "--help", true}, // untyped: lint checks placement
		{engine.Param{Name: "s", Type: engine.ParamString}, strings.Repeat("a", engine.MaxParamBytes), true},
		{engine.Param{Name: "s", Type: engine.ParamString}, strings.Repeat("a", engine.MaxParamBytes+1), false},
		{engine.Param{Name: "s", Type: engine.ParamString}, strings.Repeat("a", 200<<10), false},
	} {
		_, err := c.p.Validate(c.v)
		if (err == nil) != c.want {
			t.Errorf("%s %s %.40q: accepted=%v, want %v (%v)", c.p.Name, c.p.Type, c.v, err == nil, c.want, err)
		}
		if err != nil && strings.HasPrefix(c.v, "-") && !strings.Contains(err.Error(), "option") && len(c.v) < 100 {
			t.Errorf("%s %q: error does not say why: %v", c.p.Name, c.v, err)
		}
	}
}
