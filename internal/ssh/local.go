package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/runbook-dev/runbook/internal/engine"
)

// Local runs commands on this machine with `sh -c`, for targets bound to `local`.
type Local struct{}

var _ engine.Executor = Local{}

// Run implements engine.Executor. The command runs in its own process group
// so a timeout or cancellation kills everything it started.
func (Local) Run(ctx context.Context, h engine.Host, req engine.CommandRequest, stdout, stderr io.Writer) (engine.CommandResult, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	args := []string{"sh", "-c", req.Script}
	if req.Sudo {
		args = append([]string{"sudo", "-n", "--"}, args...)
		if len(req.Stdin) > 0 {
			args = append([]string{"sudo", "-S", "-p", "", "--"}, args[3:]...)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if len(req.Stdin) > 0 {
		cmd.Stdin = bytesReader(req.Stdin)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return engine.CommandResult{Exit: -1}, fmt.Errorf("start sh: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
	}
	res := engine.CommandResult{Duration: time.Since(start)}
	if ctx.Err() != nil {
		res.Exit, res.Signal = -1, "KILL"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && req.Timeout > 0 {
			res.TimedOut = true
			return res, nil
		}
		return res, ctx.Err()
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Exit, res.Signal = -1, signalName(ws.Signal())
		} else {
			res.Exit = ee.ExitCode()
		}
	default:
		return engine.CommandResult{Exit: -1}, err
	}
	return res, nil
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGSEGV:
		return "SEGV"
	case syscall.SIGABRT:
		return "ABRT"
	}
	return fmt.Sprintf("SIG%d", int(s))
}

type byteReader struct {
	b []byte
}

func bytesReader(b []byte) io.Reader { return &byteReader{b: b} }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// Fetch implements engine.Executor for local files. Symlinks are recorded,
// not followed (neither a link to a file nor a linked directory a glob
// walks through); FIFOs, devices and sockets are recorded as skipped and
// never opened; a glob that matches nothing leaves an entry saying why;
// large files deliver their tail; a file that changes while it is read is
// reported (engine.FileChange).
func (Local) Fetch(ctx context.Context, h engine.Host, req engine.FetchRequest, col engine.Collector) error {
	seen := map[string]bool{}
	var paths []string
	globOf := map[string]string{}
	for _, g := range req.Globs {
		m, err := filepath.Glob(g)
		if err != nil {
			return fmt.Errorf("glob %q: %w", g, err)
		}
		if len(m) == 0 {
			status, reason := noMatch(g, func(p string) (fs.FileInfo, error) { return os.Lstat(p) }, func(d string) error {
				f, err := os.Open(d)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = f.Readdirnames(1)
				if errors.Is(err, io.EOF) {
					err = nil
				}
				return err
			})
			col.Skipped(h, req.Step, engine.RemoteFile{Path: g}, status, reason)
		}
		for _, p := range m {
			if !seen[p] {
				seen[p] = true
				paths = append(paths, p)
				globOf[p] = g
			}
		}
	}
	sort.Strings(paths)
	now := time.Now()
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			col.Skipped(h, req.Step, engine.RemoteFile{Path: p}, errStatus(err), err.Error())
			continue
		}
		rf := engine.RemoteFile{Path: p, Size: fi.Size(), ModTime: fi.ModTime(), Mode: fi.Mode()}
		if l := throughLink(globOf[p], p, func(p string) (fs.FileInfo, error) { return os.Lstat(p) }); l != "" {
			target, _ := os.Readlink(l)
			rf.Link = target
			col.Skipped(h, req.Step, rf, "skipped", "inside "+l+", a symbolic link to "+target+" (not followed)")
			continue
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			rf.Link, _ = os.Readlink(p)
			col.Skipped(h, req.Step, rf, "skipped", "symbolic link (not followed)")
			continue
		case fi.IsDir():
			continue
		case !fi.Mode().IsRegular():
			col.Skipped(h, req.Step, rf, "skipped", "not a regular file ("+fi.Mode().Type().String()+"): never opened")
			continue
		}
		if req.Since > 0 && now.Sub(fi.ModTime()) > req.Since {
			continue
		}
		// O_NOFOLLOW|O_NONBLOCK: a file swapped for a link or a FIFO after
		// the Lstat is refused, never followed and never blocks the open.
		f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err != nil {
			col.Skipped(h, req.Step, rf, errStatus(err), err.Error())
			continue
		}
		if ofi, err := f.Stat(); err != nil || !ofi.Mode().IsRegular() || !os.SameFile(fi, ofi) {
			f.Close()
			col.Skipped(h, req.Step, rf, "skipped", "changed between stat and open (not a regular file any more): not read")
			continue
		}
		var r io.ReadSeeker = f
		if req.MaxBytes > 0 && fi.Size() > req.MaxBytes {
			rf.Offset = fi.Size() - req.MaxBytes
			r = io.NewSectionReader(f, rf.Offset, req.MaxBytes)
		}
		wr := watched{ReadSeeker: r, changed: func() (int64, time.Time, string) {
			pathNow, _ := os.Lstat(p)
			fileNow, _ := f.Stat()
			same := pathNow != nil && fileNow != nil && sameFile(pathNow, fileNow)
			return compareStat(fi, pathNow, fileNow, same)
		}}
		err = col.File(ctx, h, req.Step, rf, wr)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
