package sshtest

import (
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/pkg/sftp"
)

// rootFS serves a real directory as "/" over SFTP, read-only. Paths are
// cleaned before joining, so ".." cannot leave the root; symlinks are
// reported by Lstat/Readlink as stored (their targets are remote paths).
type rootFS struct{ root string }

func rootHandlers(root string) sftp.Handlers {
	fs := rootFS{root: root}
	return sftp.Handlers{FileGet: fs, FilePut: fs, FileCmd: fs, FileList: fs}
}

func (r rootFS) local(p string) string {
	return filepath.Join(r.root, filepath.FromSlash(path.Clean("/"+p)))
}

func (r rootFS) Fileread(req *sftp.Request) (io.ReaderAt, error) {
	return os.Open(r.local(req.Filepath))
}

func (r rootFS) Filewrite(*sftp.Request) (io.WriterAt, error) {
	return nil, sftp.ErrSSHFxPermissionDenied
}

func (r rootFS) Filecmd(*sftp.Request) error { return sftp.ErrSSHFxPermissionDenied }

func (r rootFS) Filelist(req *sftp.Request) (sftp.ListerAt, error) {
	p := r.local(req.Filepath)
	switch req.Method {
	case "List":
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		infos := make(listerAt, 0, len(entries))
		for _, e := range entries {
			if fi, err := e.Info(); err == nil {
				infos = append(infos, fi)
			}
		}
		return infos, nil
	case "Stat":
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		return listerAt{fi}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

func (r rootFS) Lstat(req *sftp.Request) (sftp.ListerAt, error) {
	fi, err := os.Lstat(r.local(req.Filepath))
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
}

func (r rootFS) Readlink(p string) (string, error) { return os.Readlink(r.local(p)) }

func (r rootFS) RealPath(p string) (string, error) { return path.Clean("/" + p), nil }

type listerAt []os.FileInfo

func (l listerAt) ListAt(ls []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(ls, l[off:])
	if n < len(ls) {
		return n, io.EOF
	}
	return n, nil
}
