// Package logfile opens the plugin's log: JSON lines through log/slog into
// a file rotated by size (lumberjack). It never writes to stdout, where
// the plugin's only output is its result.
package logfile

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/natefinch/lumberjack.v2"
)

// MaxBackups is how many rotated files are kept beside the log.
const MaxBackups = 3

// Modes of what Open creates.
const (
	dirMode  = 0o755
	fileMode = 0o600
)

var _ io.Closer = (*lumberjack.Logger)(nil)

// Open returns a JSON logger writing to path at level (debug, info, warn
// or error; "" is info), rotated when the file would pass maxSizeMB, and
// the closer of the file. It creates the directory (0755) and the file
// (0600) now, so that a log that cannot be written is known at once. An
// empty path gives a logger that discards. On any error Open returns a
// discarding logger and a no-op closer with the error: the plugin works
// without its log and decides what to say.
func Open(path, level string, maxSizeMB int) (*slog.Logger, io.Closer, error) {
	discard := slog.New(slog.DiscardHandler)
	if path == "" {
		return discard, nopCloser{}, nil
	}
	lvl, err := parseLevel(level)
	if err != nil {
		return discard, nopCloser{}, err
	}
	if maxSizeMB < 1 {
		return discard, nopCloser{}, fmt.Errorf("plugin log size %d MB: want at least 1", maxSizeMB)
	}
	if err := create(path); err != nil {
		return discard, nopCloser{}, err
	}
	w := &lumberjack.Logger{Filename: path, MaxSize: maxSizeMB, MaxBackups: MaxBackups, Compress: false}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl})), w, nil
}

// create makes the log's directory and file if missing, and checks that
// the file opens for appending.
func create(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("plugin log %q: want an absolute path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("plugin log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, fileMode)
	if err != nil {
		return fmt.Errorf("plugin log: %w", err)
	}
	return f.Close()
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("plugin log level %q: want debug, info, warn or error", s)
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
