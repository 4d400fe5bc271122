package ssh

import (
	"io/fs"
	"strings"
	"testing"
	"time"
)

type fakeInfo struct {
	name string
	mode fs.FileMode
}

func (f fakeInfo) Name() string       { return f.name }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return nil }

// A glob that matched nothing says why: a directory that cannot be read
// (tests run as root, where no local directory is unreadable, so the
// filesystem is faked here; the fetchers pass os.Lstat/ReadDir or the SFTP
// client's), a missing directory, or simply no match.
func TestNoMatchSaysWhy(t *testing.T) {
	lstat := func(p string) (fs.FileInfo, error) {
		if strings.HasPrefix(p, "/secret/") {
			return nil, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrPermission}
		}
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
	}
	readDir := func(d string) error {
		switch d {
		case "/secret":
			return &fs.PathError{Op: "open", Path: d, Err: fs.ErrPermission}
		case "/var/log":
			return nil
		}
		return &fs.PathError{Op: "open", Path: d, Err: fs.ErrNotExist}
	}
	for _, tc := range []struct{ glob, status, reason string }{
		{"/secret/*.log", "denied", "directory /secret cannot be read"},
		{"/secret/app.log", "denied", "permission denied"},
		{"/var/log/*.none", "skipped", "no file matches"},
		{"/gone/*/x.log", "skipped", "/gone does not exist"},
	} {
		st, why := noMatch(tc.glob, lstat, readDir)
		if st != tc.status || !strings.Contains(why, tc.reason) {
			t.Errorf("%s: %s %q, want %s %q", tc.glob, st, why, tc.status, tc.reason)
		}
	}
}

func TestThroughLink(t *testing.T) {
	links := map[string]bool{"/var/log/app/linkdir": true, "/var": true}
	lstat := func(p string) (fs.FileInfo, error) {
		if links[p] {
			return fakeInfo{p, fs.ModeSymlink}, nil
		}
		return fakeInfo{p, fs.ModeDir}, nil
	}
	for _, tc := range []struct{ glob, match, want string }{
		{"/var/log/app/*/*", "/var/log/app/linkdir/shadow", "/var/log/app/linkdir"},
		{"/var/log/app/*/*", "/var/log/app/real/x.log", ""},
		// The literal root the author wrote may be a link (/var -> /private/var).
		{"/var/log/*.log", "/var/log/a.log", ""},
		{"/var/log/app/linkdir/*.log", "/var/log/app/linkdir/a.log", ""},
	} {
		if got := throughLink(tc.glob, tc.match, lstat); got != tc.want {
			t.Errorf("throughLink(%s, %s) = %q, want %q", tc.glob, tc.match, got, tc.want)
		}
	}
}
