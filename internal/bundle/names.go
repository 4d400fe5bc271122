package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Remote names are untrusted: "../x", absolute paths, newlines, U+202E and
// names longer than any file system allows must stay inside
// hosts/<host>/files and be readable as what they are. Every byte outside a
// small safe set is percent-escaped (so the mapping is reversible and
// injective), "." and ".." segments cannot survive, and overlong segments
// or paths are shortened with a digest of the original.

const (
	maxSegment = 200  // bytes of one escaped path segment
	maxMember  = 1000 // bytes of a whole member name
)

func safeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '+' || c == '@' || c == ',' || c == '='
}

// escapeSegment makes one path segment safe. "", "." and ".." never come out.
func escapeSegment(s string) string {
	if s == "" {
		return "%"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safeByte(c) {
			b.WriteByte(c)
			continue
		}
		const hexd = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	out := b.String()
	switch out {
	case ".":
		out = "%2E"
	case "..":
		out = "%2E%2E"
	}
	if len(out) > maxSegment {
		cut := maxSegment - 17
		// back off so that an escape "%XX" is not split
		if i := strings.LastIndexByte(out[:cut], '%'); i >= 0 && i > cut-3 {
			cut = i
		}
		out = out[:cut] + "~" + digest(s)[:16]
	}
	return out
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// fileMember names a collected remote file inside the archive.
func fileMember(host, remote string) string {
	prefix := "hosts/" + escapeSegment(host) + "/files/"
	var segs []string
	for _, s := range strings.Split(remote, "/") {
		if s == "" || s == "." {
			continue
		}
		segs = append(segs, escapeSegment(s))
	}
	if len(segs) == 0 {
		segs = []string{"%"}
	}
	name := prefix + strings.Join(segs, "/")
	if len(name) > maxMember {
		name = prefix + "~long/" + digest(remote)
	}
	return name
}

// commandMember names a collected command's output.
func commandMember(host, step string) string {
	return "hosts/" + escapeSegment(host) + "/commands/" + escapeSegment(step) + ".txt"
}

// safeMemberName reports whether a member name read from an archive is
// one this package could have written: relative, no "." or ".." segments,
// only safe bytes and '%', '~', '/'.
func safeMemberName(name string) bool {
	if name == "" || len(name) > maxMember+64 || strings.HasPrefix(name, "/") {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !safeByte(c) && c != '%' && c != '~' && c != '/' {
			return false
		}
	}
	return true
}
