package ssh

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// Checks shared by the local and the SFTP fetcher, so both collect the same
// way: what a glob that matched nothing leaves behind, links to
// directories that a glob walked through, and files that changed while
// they were read.

// hasMeta reports whether a path element has glob characters.
func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// literalDir is the directory part of a glob before its first wildcard
// element: the root the runbook author named.
func literalDir(glob string) string {
	dir := path.Dir(glob)
	for hasMeta(dir) {
		dir = path.Dir(dir)
	}
	return dir
}

// throughLink returns the directory of match, below the glob's literal
// root, that is a symbolic link ("" when none): `linkdir -> /etc` must not
// put /etc/shadow in the bundle under an innocent name. Links are
// recorded, never followed.
func throughLink(glob, match string, lstat func(string) (fs.FileInfo, error)) string {
	root := literalDir(glob)
	dir := path.Dir(match)
	var below []string
	for dir != root && dir != "/" && dir != "." && strings.HasPrefix(dir, root) {
		below = append(below, dir)
		dir = path.Dir(dir)
	}
	for i := len(below) - 1; i >= 0; i-- {
		if fi, err := lstat(below[i]); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return below[i]
		}
	}
	return ""
}

// noMatch says why a glob matched nothing: the file or its directory
// cannot be read (denied, error), or there is simply no such file.
func noMatch(glob string, lstat func(string) (fs.FileInfo, error), readDir func(string) error) (status, reason string) {
	if !hasMeta(glob) {
		if _, err := lstat(glob); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return errStatus(err), err.Error()
		}
	}
	dir := literalDir(glob)
	if err := readDir(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "skipped", fmt.Sprintf("no file matches (%s does not exist)", dir)
		}
		return errStatus(err), fmt.Sprintf("no file matches: directory %s cannot be read: %v", dir, err)
	}
	return "skipped", "no file matches"
}

// watched is a fetcher's reader that can say, after the read, whether the
// file changed under it (engine.FileChange).
type watched struct {
	io.ReadSeeker
	changed func() (int64, time.Time, string)
}

func (w watched) Changed() (int64, time.Time, string) { return w.changed() }

// compareStat says how a file changed between before and the two stats
// after a read: the path's (now) and the open file's.
func compareStat(before, pathNow, fileNow fs.FileInfo, samePathFile bool) (int64, time.Time, string) {
	if pathNow == nil {
		return -1, time.Time{}, "the file was removed while it was read"
	}
	size, mt := pathNow.Size(), pathNow.ModTime()
	switch {
	case !samePathFile:
		return size, mt, fmt.Sprintf("replaced while read (rename rotation): %d bytes %s before, the path now holds %d bytes %s",
			before.Size(), before.ModTime().UTC().Format(time.RFC3339), size, mt.UTC().Format(time.RFC3339))
	case fileNow != nil && fileNow.Size() < before.Size():
		return fileNow.Size(), fileNow.ModTime(), fmt.Sprintf("truncated while read (copytruncate): %d bytes before, %d after", before.Size(), fileNow.Size())
	case size < before.Size():
		return size, mt, fmt.Sprintf("truncated while read (copytruncate): %d bytes before, %d after", before.Size(), size)
	}
	return size, mt, ""
}

// sameFile is os.SameFile for local files.
func sameFile(a, b fs.FileInfo) bool { return os.SameFile(a, b) }
