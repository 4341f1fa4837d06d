package main

import (
	"github.com/opencpo/opencpo/internal/api"
	"github.com/opencpo/opencpo/internal/framelog"
	"github.com/opencpo/opencpo/internal/ocppws"
)

// messageLog returns the per-station OCPP message log as the WebSocket endpoint feeds it and as
// the API reads it; both nil (interfaces, not typed nils) when --message-log-mib is 0.
func messageLog(cfg serveConfig) (ocppws.FrameObserver, api.FrameLog) {
	if cfg.MessageLogMiB == 0 {
		return nil, nil
	}
	l := framelog.New(framelog.Options{MaxBytes: cfg.MessageLogMiB << 20})
	return l, l
}
