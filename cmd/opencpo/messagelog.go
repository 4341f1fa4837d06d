package main

import (
	"github.com/opencpo/opencpo/internal/api"
	"github.com/opencpo/opencpo/internal/console"
	"github.com/opencpo/opencpo/internal/framelog"
	"github.com/opencpo/opencpo/internal/ocppws"
)

// messageLogs is the per-station OCPP message log as the WebSocket endpoint feeds it and as the
// API and the console read it; all nil (interfaces, not typed nils) when --message-log-mib is 0.
type messageLogs struct {
	observer ocppws.FrameObserver
	api      api.FrameLog
	console  console.FrameLog
}

func messageLog(cfg serveConfig) messageLogs {
	if cfg.MessageLogMiB == 0 {
		return messageLogs{}
	}
	l := framelog.New(framelog.Options{MaxBytes: cfg.MessageLogMiB << 20})
	return messageLogs{observer: l, api: l, console: l}
}
