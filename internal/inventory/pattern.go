package inventory

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxExpand bounds how many hosts one pattern may expand to: a typo such as
// web[1:100000] must be an error, not a hundred thousand connections.
const MaxExpand = 10000

// Expand turns a host pattern into host names, in order: a comma list
// ("a,b,c"), Ansible-style ranges ("web[01:20]" keeps the zero padding,
// "web[1:9:2]" steps by 2, "db-[a:c]" counts letters), several ranges in one
// name multiply. A name without brackets is returned as is; an IPv6 literal
// in brackets ("[::1]:22", "user@[fe80::1]") is not a range.
func Expand(pattern string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(pattern, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("host list %q: empty entry", pattern)
		}
		names, err := expandOne(part)
		if err != nil {
			return nil, err
		}
		out = append(out, names...)
		if len(out) > MaxExpand {
			return nil, fmt.Errorf("host pattern %q expands to more than %d hosts", pattern, MaxExpand)
		}
	}
	return out, nil
}

func expandOne(s string) ([]string, error) {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return []string{s}, nil
	}
	j := strings.IndexByte(s[i:], ']')
	if j < 0 {
		return nil, fmt.Errorf("host pattern %q: [ without ]", s)
	}
	j += i
	inner := s[i+1 : j]
	if !strings.Contains(inner, ":") || strings.Count(inner, ":") > 2 || isIPv6(inner) {
		// [::1], [fe80::1]:22: an address, not a range. Ranges need exactly
		// one or two colons between alphanumerics.
		rest, err := expandOne(s[j+1:])
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(rest))
		for _, r := range rest {
			out = append(out, s[:j+1]+r)
		}
		return out, nil
	}
	items, err := rangeItems(s, inner)
	if err != nil {
		return nil, err
	}
	rest, err := expandOne(s[j+1:])
	if err != nil {
		return nil, err
	}
	if len(items)*len(rest) > MaxExpand {
		return nil, fmt.Errorf("host pattern %q expands to more than %d hosts", s, MaxExpand)
	}
	out := make([]string, 0, len(items)*len(rest))
	for _, it := range items {
		for _, r := range rest {
			out = append(out, s[:i]+it+r)
		}
	}
	return out, nil
}

func isIPv6(s string) bool {
	if strings.Count(s, ":") < 2 {
		return false
	}
	for _, r := range s {
		if !(r == ':' || r == '.' || r == '%' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'f') || ('A' <= r && r <= 'F')) {
			return false
		}
	}
	// a:b:2 (letters a to b, step 2) is a range; ::1 and fe80::1 are not.
	return strings.Contains(s, "::") || strings.Count(s, ":") > 2
}

func rangeItems(pattern, inner string) ([]string, error) {
	parts := strings.Split(inner, ":")
	lo, hi := parts[0], parts[1]
	step := 1
	if len(parts) == 3 {
		n, err := strconv.Atoi(parts[2])
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("host pattern %q: step %q is not a positive number", pattern, parts[2])
		}
		step = n
	}
	if a, errA := strconv.Atoi(lo); errA == nil {
		b, errB := strconv.Atoi(hi)
		if errB != nil || b < a {
			return nil, fmt.Errorf("host pattern %q: range %s:%s must count up", pattern, lo, hi)
		}
		if (b-a)/step+1 > MaxExpand {
			return nil, fmt.Errorf("host pattern %q expands to more than %d hosts", pattern, MaxExpand)
		}
		width := 0
		if len(lo) > 1 && lo[0] == '0' {
			width = len(lo) // web[01:20]: keep the padding
		}
		var out []string
		for n := a; n <= b; n += step {
			out = append(out, fmt.Sprintf("%0*d", width, n))
		}
		return out, nil
	}
	if len(lo) == 1 && len(hi) == 1 && isLetter(lo[0]) && isLetter(hi[0]) && lo[0] <= hi[0] {
		var out []string
		for c := int(lo[0]); c <= int(hi[0]); c += step {
			out = append(out, string(rune(c)))
		}
		return out, nil
	}
	return nil, fmt.Errorf("host pattern %q: [%s] is not a range (want [01:20] or [a:f])", pattern, inner)
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
