package engine

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxParamBytes bounds a param's value: bigger ones are refused before
// anything is sent (a host refuses a command line over 128 KiB, and the
// refusal would look like the probe's answer).
const MaxParamBytes = 64 << 10

// leadingDash reports a typed value that could be read as an option: a
// typed param (ip, host, path, enum, duration, int) never starts with '-',
// except a negative int where the param allows one (min below 0) and an
// enum value the runbook itself declares.
func leadingDash(p *Param, v string) bool {
	if !strings.HasPrefix(strings.TrimSpace(v), "-") {
		return false
	}
	switch p.Type {
	case ParamString, "":
		return false // untyped text: lint checks where it goes
	case ParamInt:
		return p.Min == nil || *p.Min >= 0
	case ParamEnum:
		return !contains(p.Values, v)
	}
	return true
}

var hostnameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

// Validate checks a value against the param's type and constraints and
// returns it converted (int params become int64, everything else a string).
func (p *Param) Validate(v string) (any, error) {
	if len(v) > MaxParamBytes {
		return nil, fmt.Errorf("%s: %d bytes is over the %d-byte limit for a param (it must fit on a command line)", p.Name, len(v), MaxParamBytes)
	}
	if strings.ContainsAny(v, "\x00\n\r") {
		return nil, fmt.Errorf("%s: NUL and line breaks are not allowed", p.Name)
	}
	if leadingDash(p, v) {
		return nil, fmt.Errorf("%s: %q starts with '-', which a command would read as an option; %s never starts with '-'", p.Name, v, p.Describe())
	}
	switch p.Type {
	case ParamString, "":
		if p.Pattern != "" {
			re, err := regexp.Compile(`^(?:` + p.Pattern + `)$`)
			if err != nil {
				return nil, fmt.Errorf("%s: bad pattern: %w", p.Name, err)
			}
			if !re.MatchString(v) {
				return nil, fmt.Errorf("%s: %q does not match %s", p.Name, v, p.Pattern)
			}
		}
		return v, nil
	case ParamInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an integer", p.Name, v)
		}
		if p.Min != nil && n < *p.Min {
			return nil, fmt.Errorf("%s: %d is below the minimum %d", p.Name, n, *p.Min)
		}
		if p.Max != nil && n > *p.Max {
			return nil, fmt.Errorf("%s: %d is above the maximum %d", p.Name, n, *p.Max)
		}
		return n, nil
	case ParamIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an IP address", p.Name, v)
		}
		return a.String(), nil
	case ParamHost:
		if _, err := netip.ParseAddr(v); err == nil {
			return v, nil
		}
		if len(v) > 253 || !hostnameRE.MatchString(v) {
			return nil, fmt.Errorf("%s: %q is not a host name or IP address", p.Name, v)
		}
		return v, nil
	case ParamPath:
		if !strings.HasPrefix(v, "/") {
			return nil, fmt.Errorf("%s: %q must be an absolute path", p.Name, v)
		}
		for _, part := range strings.Split(v, "/") {
			if part == ".." {
				return nil, fmt.Errorf("%s: %q must not contain '..'", p.Name, v)
			}
		}
		clean := path.Clean(v)
		if p.Under != "" {
			under := path.Clean(p.Under)
			if clean == under || !strings.HasPrefix(clean, strings.TrimSuffix(under, "/")+"/") {
				return nil, fmt.Errorf("%s: %q must be inside %s", p.Name, v, under)
			}
		}
		return clean, nil
	case ParamEnum:
		if !contains(p.Values, v) {
			return nil, fmt.Errorf("%s: %q is not one of %s", p.Name, v, strings.Join(p.Values, ", "))
		}
		return v, nil
	case ParamTime:
		t, err := parseTimeText(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a time: use 2006-01-02 15:04:05 (UTC) or RFC 3339 with an offset", p.Name, v)
		}
		// One spelling, which date() reads back: commands and file names see it.
		if _, off := t.Zone(); off == 0 {
			return t.UTC().Format("2006-01-02 15:04:05"), nil
		}
		return t.Format(time.RFC3339), nil
	case ParamDuration:
		if _, err := ParseDuration(v); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%s: unknown type %q", p.Name, p.Type)
}

// Describe is a short human hint of what the param accepts.
func (p *Param) Describe() string {
	switch p.Type {
	case ParamInt:
		s := "an integer"
		if p.Min != nil && p.Max != nil {
			s += fmt.Sprintf(" from %d to %d", *p.Min, *p.Max)
		} else if p.Min != nil {
			s += fmt.Sprintf(" ≥ %d", *p.Min)
		} else if p.Max != nil {
			s += fmt.Sprintf(" ≤ %d", *p.Max)
		}
		return s
	case ParamIP:
		return "an IP address"
	case ParamTime:
		return "a time such as 2026-11-28 03:12:00 (UTC) or 2026-11-28T03:12:00+08:00"
	case ParamHost:
		return "a host name or IP address"
	case ParamPath:
		if p.Under != "" {
			return "a path inside " + p.Under
		}
		return "an absolute path"
	case ParamEnum:
		return "one of " + strings.Join(p.Values, ", ")
	case ParamDuration:
		return "a duration such as 30s or 10m"
	}
	if p.Pattern != "" {
		return "text matching " + p.Pattern
	}
	return "text"
}
