package main

import (
	"flag"
	"io"
	"log/slog"
)

// logFlags are the flags that shape a command's log.
type logFlags struct{ format, level *string }

func addLogFlags(fs *flag.FlagSet) logFlags {
	return logFlags{
		format: fs.String("log-format", "text", "log as text (key=value) or json (one object a line)"),
		level:  fs.String("log-level", "info", "least `level` logged: debug, info, warn or error (the access log is info)"),
	}
}

// logger returns the log the flags ask for, writing to w.
func (l logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch *l.level {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, usagef("--log-level must be debug, info, warn or error, got %q", *l.level)
	}
	o := &slog.HandlerOptions{Level: level}
	switch *l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, usagef("--log-format must be text or json, got %q", *l.format)
}
