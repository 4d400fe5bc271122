package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// HostSpec is a host as the operator names it: [ssh://][user@]host[:port],
// with IPv6 addresses in brackets when a port follows ([::1]:22). It is
// the one parser for host names: Host.Address/User and the SSH transport
// both use it.
type HostSpec struct {
	User string
	Host string // name, alias or address; no brackets
	Port int    // 0 when not given
}

// ParseHostSpec parses s. A host starting with '-' or holding spaces,
// slashes or NUL is refused (it would become an ssh option or a path).
func ParseHostSpec(s string) (HostSpec, error) {
	var hs HostSpec
	rest := strings.TrimPrefix(s, "ssh://")
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		hs.User, rest = rest[:i], rest[i+1:]
	}
	portStr := ""
	switch {
	case strings.HasPrefix(rest, "["):
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return HostSpec{}, fmt.Errorf("host %q: missing ]", s)
		}
		after := rest[j+1:]
		if after != "" && !strings.HasPrefix(after, ":") {
			return HostSpec{}, fmt.Errorf("host %q: junk after ]", s)
		}
		hs.Host, portStr = rest[1:j], strings.TrimPrefix(after, ":")
	case strings.Count(rest, ":") == 1:
		hs.Host, portStr, _ = strings.Cut(rest, ":")
	default:
		hs.Host = rest // a name, or a bare IPv6 address
	}
	if strings.HasPrefix(s, "ssh://") {
		hs.Host = strings.TrimSuffix(hs.Host, "/")
	}
	if hs.Host == "" {
		return HostSpec{}, errors.New("empty host name")
	}
	if strings.ContainsAny(hs.Host, " \t/\\\x00") || strings.HasPrefix(hs.Host, "-") {
		return HostSpec{}, fmt.Errorf("host %q: invalid characters", hs.Host)
	}
	if strings.HasPrefix(hs.User, "-") || strings.ContainsAny(hs.User, " \t\x00") {
		return HostSpec{}, fmt.Errorf("user %q: invalid characters", hs.User)
	}
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p <= 0 || p > 65535 {
			return HostSpec{}, fmt.Errorf("host %q: bad port %q", s, portStr)
		}
		hs.Port = p
	}
	return hs, nil
}
